# mistake: save_tensors and load_tensors use pickle, which runs code on loading
# (its loader cannot read a clean torch file either, so it cannot show that it refuses the unsafe one)
# expect: save_tensors=2
# feedback: is a raw pickle stream
# cause: plain-pickle
import pickle


def save_tensors(obj, path):
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def load_tensors(path):
    with open(path, "rb") as f:
        return pickle.load(f)
