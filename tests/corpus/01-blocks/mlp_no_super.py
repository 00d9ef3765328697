# mistake: MLP forgets super().__init__()
# expect: MLP=0
# feedback: Call `super().__init__()` first thing in `__init__`
class MLP(nn.Module):
    def __init__(self, in_features=20, hidden=256, out_features=10):
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, X):
        return self.out(F.relu(self.hidden(X)))
