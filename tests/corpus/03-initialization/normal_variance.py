# mistake: init_normal uses 0.01 as the variance, not the standard deviation
# expect: init_normal=2
# feedback: 0.01 is the standard deviation (std=0.01), not the variance
# cause: variance-for-std
def init_normal(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=0.01**2)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
