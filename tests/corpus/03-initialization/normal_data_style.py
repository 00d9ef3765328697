# mistake: none: .data, randn_like and a type() test, in the book's style
# expect: full
def init_normal(m):
    if type(m) == nn.Linear:
        m.weight.data = torch.randn_like(m.weight) * 0.01
        if m.bias is not None:
            m.bias.data.zero_()
