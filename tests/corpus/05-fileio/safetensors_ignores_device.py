# mistake: load_safetensors loads the values but leaves the model where it was
# expect: full
# (on a CPU-only runner the model was on the requested device already; the GPU run catches it)
from safetensors.torch import load_model, save_model


def save_safetensors(net, path):
    save_model(net, str(path))


def load_safetensors(net, path, device="cpu"):
    load_model(net, str(path))
    return net
