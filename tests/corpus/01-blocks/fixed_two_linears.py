# mistake: a second nn.Linear for the second use instead of the same layer twice
# expect: FixedHiddenMLP=1
# feedback: use one nn.Linear twice
class FixedHiddenMLP(nn.Module):
    def __init__(self, in_features=20):
        super().__init__()
        self.register_buffer("rand_weight", torch.rand(in_features, in_features))
        self.linear = nn.Linear(in_features, in_features)
        self.linear2 = nn.Linear(in_features, in_features)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear2(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
