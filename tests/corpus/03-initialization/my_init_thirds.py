# mistake: my_init draws zero, positive and negative with a third each
# expect: my_init=2
# feedback: of the weights are zero, expected 50%
def my_init(m):
    if isinstance(m, nn.Linear):
        with torch.no_grad():
            kind = torch.randint(0, 3, m.weight.shape)
            magnitude = torch.empty_like(m.weight).uniform_(5, 10)
            m.weight.copy_(torch.where(kind == 0, 0.0, torch.where(kind == 1, magnitude, -magnitude)))
