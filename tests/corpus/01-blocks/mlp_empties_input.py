# mistake: MLP's forward empties its input in place (X.resize_), then runs the layers on it
# expect: MLP=1
# feedback: The input X was changed by your code
class MLP(nn.Module):
    def __init__(self, in_features=20, hidden=256, out_features=10):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, X):
        X.resize_(0, X.shape[-1])
        return self.out(F.relu(self.hidden(X)))
