# mistake: init_normal uses 0.01 as the variance, not the standard deviation
# expect: init_normal=2
# feedback: not a variance of 0.01
def init_normal(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, mean=0.0, std=0.01**2)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
