# mistake: norms_on_device returns a list of norms instead of a 1-D tensor
# expect: norms_on_device=2
# feedback: expected a 1-D tensor
def norms_on_device(mats, device):
    return [torch.linalg.matrix_norm(A.to(device) @ A.to(device)) for A in mats]
