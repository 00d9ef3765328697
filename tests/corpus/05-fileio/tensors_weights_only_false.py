# mistake: load_tensors turns the safe loader off
# expect: save_tensors=3
# feedback: unpickled an object from the file
# cause: ran-pickled-code
def load_tensors(path):
    return torch.load(path, weights_only=False)
