# mistake: load_to always loads onto the CPU and never moves to the device asked for
# (the meta check, and on a CPU-only runner the stand-in GPU, catch it)
# expect: load_to=2.5
# feedback: gave tensors on ['cpu'], expected meta
def load_to(path, device):
    return torch.load(path, map_location="cpu", weights_only=True)
