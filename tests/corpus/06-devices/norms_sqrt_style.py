# mistake: none: the Frobenius norm by hand, one transfer with .to
# expect: full
def norms_on_device(mats, device):
    device = torch.device(device)
    out = torch.empty(len(mats), device=device)
    for i, A in enumerate(mats):
        B = A.to(device)
        out[i] = (B @ B).pow(2).sum().sqrt()
    return out.to("cpu")
