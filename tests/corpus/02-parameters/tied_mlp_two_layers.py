# mistake: tied_mlp builds two separate Linear(8, 8) layers
# expect: tied_mlp=0
# feedback: are two different layers
# cause: two-layers
def tied_mlp():
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)
    )
