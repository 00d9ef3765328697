# mistake: norms_on_device zeroes the matrices it is given in place (a reference recomputed from the reported matrices would agree)
# expect: norms_on_device=3
# feedback: was changed in place by your code
def norms_on_device(mats, device):
    norms = []
    for A in mats:
        A.zero_()
        A = A.to(device)
        norms.append(torch.linalg.matrix_norm(A @ A))
    return torch.stack(norms).cpu()
