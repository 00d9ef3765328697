# mistake: an endless loop in NestMLP.forward times out; the other checks still run
# expect: NestMLP=1
# status: timed out
# feedback: did not finish
class NestMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        while True:
            X = X + 0
