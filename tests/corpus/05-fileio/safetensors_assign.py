# mistake: load_safetensors loads with assign=True, which replaces the Parameters: two distinct layers sharing a weight come apart
# expect: save_safetensors=3
# feedback: its layers 0 and 2 no longer share their Parameters
from safetensors.torch import load_file, save_model


def save_safetensors(net, path):
    save_model(net, str(path))


def load_safetensors(net, path, device="cpu"):
    net.load_state_dict(load_file(str(path), device=str(device)), strict=False, assign=True)
    return net
