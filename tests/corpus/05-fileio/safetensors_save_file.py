# mistake: save_safetensors uses save_file, which refuses tied weights
# expect: save_safetensors=2
# feedback: `safetensors.torch.save_file` refuses tied tensors
from safetensors.torch import load_file, save_file


def save_safetensors(net, path):
    save_file(net.state_dict(), str(path))


def load_safetensors(net, path, device="cpu"):
    net.load_state_dict(load_file(str(path)))
    return net.to(device)
