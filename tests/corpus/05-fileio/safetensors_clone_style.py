# mistake: none: save_file of cloned tensors (no memory shared), load_file then load_state_dict, which keeps ties
# expect: full
from safetensors.torch import load_file, save_file


def save_safetensors(net, path):
    save_file({k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}, str(path))


def load_safetensors(net, path, device="cpu"):
    net.to(device)
    net.load_state_dict(load_file(str(path), device=str(device)))
    return net
