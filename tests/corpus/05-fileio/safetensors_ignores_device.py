# mistake: load_safetensors loads the values but leaves the model where it was
# expect: save_safetensors=3.5
# (the cuda:0 half of the device check fails, on a GPU or on the stand-in for one)
# feedback: its tensors are on ['cpu']: they should be on cuda:0
from safetensors.torch import load_model, save_model


def save_safetensors(net, path):
    save_model(net, str(path))


def load_safetensors(net, path, device="cpu"):
    load_model(net, str(path))
    return net
