# mistake: norms_on_device copies each norm to the host inside the loop
# expect: norms_on_device=3
# feedback: copied results to the host 4 times (.item() ×4)
def norms_on_device(mats, device):
    values = []
    for A in mats:
        A = A.to(device)
        values.append(torch.linalg.norm(A @ A).item())
    return torch.tensor(values)
