# mistake: init_normal passes 0.01 as normal_'s second positional argument, which is the mean
# expect: init_normal=2
# feedback: its second argument is the mean
# cause: mean-for-std
def init_normal(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.01)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
