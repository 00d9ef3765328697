# mistake: norms_on_device writes each norm into a tensor made without device=, on the CPU
# (one copy to the host per norm: the stand-in GPU of a CPU-only runner shows them)
# expect: norms_on_device=3.5
# feedback: copied results to the host 4 times (out[i] = norm into a CPU tensor ×4)
def norms_on_device(mats, device):
    out = torch.empty(len(mats))
    for i, A in enumerate(mats):
        A = A.to(device)
        out[i] = torch.linalg.matrix_norm(A @ A)
    return out
