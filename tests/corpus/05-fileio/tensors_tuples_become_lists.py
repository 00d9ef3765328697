# mistake: save_tensors turns tuples into lists
# expect: save_tensors=3
# feedback: came back as a list, expected a tuple
def save_tensors(obj, path):
    torch.save(list(obj) if isinstance(obj, tuple) else obj, path)
