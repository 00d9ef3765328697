# mistake: MLP's forward leaves out the ReLU
# expect: MLP=1
# feedback: the ReLU between the two layers is missing
# cause: missing-relu
class MLP(nn.Module):
    def __init__(self, in_features=20, hidden=256, out_features=10):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, out_features)

    def forward(self, X):
        return self.out(self.hidden(X))
