# mistake: none: the three cases drawn explicitly, then written in place
# expect: full
def my_init(m):
    if not isinstance(m, nn.Linear):
        return
    with torch.no_grad():
        u = torch.rand_like(m.weight)
        magnitude = 5 + 5 * torch.rand_like(m.weight)
        value = torch.zeros_like(m.weight)
        value[u < 0.25] = magnitude[u < 0.25]
        value[u > 0.75] = -magnitude[u > 0.75]
        m.weight.copy_(value)
