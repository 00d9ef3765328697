# mistake: norms_on_device leaves the result on the device: it forgets the final .cpu()
# (a CPU-only runner catches it on the stand-in GPU)
# expect: norms_on_device=3.5
# feedback: returned a tensor on cuda:0: copy the norms to the host at the end
# cause: no-host-copy
def norms_on_device(mats, device):
    norms = []
    for A in mats:
        A = A.to(device)
        norms.append(torch.linalg.matrix_norm(A @ A))
    return torch.stack(norms)
