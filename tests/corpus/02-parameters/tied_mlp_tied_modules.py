# mistake: tied_mlp uses two Linear(8, 8) modules that share their Parameters, not one module
# (the gradients are summed all the same: only the structure check fails)
# expect: tied_mlp=2
# feedback: are two modules that share their Parameters
def tied_mlp():
    first, second = nn.Linear(8, 8), nn.Linear(8, 8)
    second.weight, second.bias = first.weight, first.bias
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), first, nn.ReLU(), second, nn.ReLU(), nn.Linear(8, 1))
