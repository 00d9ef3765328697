# mistake: none: torch.relu and a local variable instead of F.relu
# expect: full
class MLP(nn.Module):
    def __init__(self, in_features=20, hidden=256, out_features=10):
        super(MLP, self).__init__()
        self.hidden = nn.Linear(in_features=in_features, out_features=hidden)
        self.out = nn.Linear(in_features=hidden, out_features=out_features)

    def forward(self, X):
        H = torch.relu(self.hidden(X))
        return self.out(H)
