# mistake: move_model forgets to return the model
# expect: move_model=3
# feedback: move_model should return the model it moved
def move_model(net, device):
    net.to(device)
