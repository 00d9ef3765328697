# mistake: modules kept in a plain Python list
# expect: MySequential=2.5
# (the modules in the list are not moved by .to(device): the cuda:0 half of forward fails, on the stand-in GPU too)
# feedback: plain Python list
# cause: modules-not-registered
class MySequential(nn.Module):
    def __init__(self, *modules):
        super().__init__()
        self.layers = list(modules)

    def forward(self, X):
        for layer in self.layers:
            X = layer(X)
        return X

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]
