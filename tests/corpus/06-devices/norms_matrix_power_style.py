# mistake: none: torch.linalg.matrix_power and linalg.norm, availability checked, redundant no-op moves
# expect: full
def norms_on_device(mats, device):
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("no GPU here")
    norms = []
    for A in mats:
        A = A.to(device).to(device)
        norms.append(torch.linalg.norm(torch.linalg.matrix_power(A, 2)))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return torch.stack(norms).to(device).cpu()
