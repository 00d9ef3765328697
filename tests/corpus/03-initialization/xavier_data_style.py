# mistake: none: a uniform on (-a, a) written into .data, the bound from in_features and out_features
# expect: full
def init_xavier(m):
    if isinstance(m, nn.Linear):
        a = (6 / (m.in_features + m.out_features)) ** 0.5
        m.weight.data = (torch.rand_like(m.weight) * 2 - 1) * a
