# mistake: init_xavier also zeroes the bias, which must stay unchanged
# expect: init_xavier=1
# feedback: should leave the bias unchanged
def init_xavier(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
