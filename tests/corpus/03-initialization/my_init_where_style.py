# mistake: none: torch.where under no_grad, written back with copy_
# expect: full
def my_init(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            w = torch.empty_like(m.weight).uniform_(-10, 10)
            m.weight.copy_(torch.where(w.abs() < 5, torch.zeros_like(w), w))
