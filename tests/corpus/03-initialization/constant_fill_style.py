# mistake: none: fill_ and zero_ on .data
# expect: full
def init_constant(m, value=1.0):
    if type(m) is nn.Linear:
        m.weight.data.fill_(value)
        if m.bias is not None:
            m.bias.data.zero_()
