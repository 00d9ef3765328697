# mistake: none: the layers gathered in a list first, the shared one twice
# expect: full
def tied_mlp():
    shared = nn.Linear(8, 8)
    layers = [nn.Linear(4, 8), nn.ReLU()]
    for _ in range(2):
        layers += [shared, nn.ReLU()]
    layers.append(nn.Linear(8, 1))
    return nn.Sequential(*layers)
