# mistake: the type test is written against a name that does not exist
# expect: init_normal=0
# feedback: check its spelling and capitals
def init_normal(m):
    if type(m) == nn.linear:
        nn.init.normal_(m.weight, mean=0.0, std=0.01)
        nn.init.zeros_(m.bias)
