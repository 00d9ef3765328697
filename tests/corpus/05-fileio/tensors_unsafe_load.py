# mistake: load_tensors relies on torch.load's default instead of asking for weights_only=True
# expect: save_tensors=3
# feedback: pass weights_only=True to torch.load
# cause: ran-pickled-code
def load_tensors(path):
    return torch.load(path)
