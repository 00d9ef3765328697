# mistake: MLP ignores its constructor's arguments
# expect: MLP=2
# feedback: build the layers from the constructor's arguments
class MLP(nn.Module):
    def __init__(self, in_features=20, hidden=256, out_features=10):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))
