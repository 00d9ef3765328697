# mistake: norms_on_device calls .cpu() on each norm
# (on the CPU, .cpu() copies nothing: only the cuda:0 half is lost)
# expect: norms_on_device=3.5
# feedback: copied results to the host
def norms_on_device(mats, device):
    return torch.stack([torch.linalg.matrix_norm(A.to(device) @ A.to(device)).cpu() for A in mats])
