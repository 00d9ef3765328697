# mistake: none: safetensors for dicts, torch.save with the safe loader otherwise
# expect: full
from safetensors.torch import load_file, save_file


def save_tensors(obj, path):
    if isinstance(obj, dict):
        save_file({k: v.contiguous().clone() for k, v in obj.items()}, str(path), metadata={"kind": "dict"})
    else:
        torch.save(obj, path)


def load_tensors(path):
    with open(path, "rb") as f:
        head = f.read(2)
    if head == b"PK":  # torch.save's zip archive
        return torch.load(path, weights_only=True)
    return load_file(str(path))
