# mistake: forward fills rand_weight with infinity in place; the judge, which uses its own rand_weight, neither loops nor passes it
# expect: FixedHiddenMLP=2
# feedback: FixedHiddenMLP's output differs from the recipe
class FixedHiddenMLP(nn.Module):
    def __init__(self, in_features=20):
        super().__init__()
        self.register_buffer("rand_weight", torch.rand(in_features, in_features))
        self.linear = nn.Linear(in_features, in_features)

    def forward(self, X):
        self.rand_weight.fill_(float("inf"))
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
            if not torch.isfinite(X).all():
                break
        return X.sum()
