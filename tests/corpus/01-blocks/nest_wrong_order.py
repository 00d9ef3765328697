# mistake: NestMLP applies linear before net
# expect: NestMLP=1
# feedback: NestMLP()(X) raised RuntimeError
class NestMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        return self.net(self.linear(X))
