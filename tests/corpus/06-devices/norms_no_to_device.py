# mistake: norms_on_device computes where the matrices are: it forgets A.to(device)
# (a CPU-only runner catches it on the stand-in GPU: the products run on the CPU)
# expect: norms_on_device=3.5
# feedback: the products ran on the CPU, expected cuda:0
# cause: computed-on-host
def norms_on_device(mats, device):
    return torch.stack([torch.linalg.matrix_norm(A @ A) for A in mats]).cpu()
