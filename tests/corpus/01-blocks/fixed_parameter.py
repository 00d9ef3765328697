# mistake: rand_weight registered as an nn.Parameter, so an optimizer would train it
# expect: FixedHiddenMLP=2
# feedback: is an nn.Parameter
class FixedHiddenMLP(nn.Module):
    def __init__(self, in_features=20):
        super().__init__()
        self.rand_weight = nn.Parameter(torch.rand(in_features, in_features))
        self.linear = nn.Linear(in_features, in_features)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
