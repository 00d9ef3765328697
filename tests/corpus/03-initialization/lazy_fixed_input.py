# mistake: lazy_mlp uses nn.Linear with a fixed input size
# expect: lazy_mlp=4
# feedback: use nn.LazyLinear
def lazy_mlp(hidden=256, out_features=10):
    return nn.Sequential(nn.Linear(20, hidden), nn.ReLU(), nn.Linear(hidden, out_features))
