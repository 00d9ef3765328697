# mistake: none: xavier_uniform_ with its gain written out (1 is the default)
# expect: full
def init_xavier(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight, gain=1.0)
