# mistake: rand_weight drawn with torch.randn instead of torch.rand
# expect: FixedHiddenMLP=3
# feedback: drawn with torch.rand
class FixedHiddenMLP(nn.Module):
    def __init__(self, in_features=20):
        super().__init__()
        self.register_buffer("rand_weight", torch.randn(in_features, in_features))
        self.linear = nn.Linear(in_features, in_features)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
