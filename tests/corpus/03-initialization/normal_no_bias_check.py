# mistake: init_normal does not cope with bias=None
# expect: init_normal=2
# feedback: net.apply(init_normal) on a network
def init_normal(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, mean=0.0, std=0.01)
        nn.init.zeros_(m.bias)
