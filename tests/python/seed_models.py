"""The seed report's PyTorch models and training loop, the ground truth for
anbn's numerics.

SeedModel is the seed's SimpleRNN / SimpleLSTM in one class, with the seed's
module names (``self.rnn``, ``self.lstm``; a GRU as ``self.gru``), so its
state_dict names are anbn's: ``embedding.*``, ``rnn.*`` / ``lstm.*`` /
``gru.*``, ``fc.*``.  The seed's classes themselves, verbatim, are in
seed_classes.py.
"""
import torch
import torch.nn as nn

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class SeedModel(nn.Module):
    def __init__(self, cell, input_size=4, hidden_size=2, output_size=3, num_layers=1):
        super().__init__()
        self.cell = cell
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.embedding = nn.Embedding(input_size, hidden_size)
        setattr(self, cell, CELLS[cell](hidden_size, hidden_size, num_layers, batch_first=True))
        self.fc = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        x = self.embedding(input)
        output, hidden = getattr(self, self.cell)(x, hidden)
        output = output[:, -1, :]
        output = self.fc(output)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        h = torch.zeros(self.num_layers, 1, self.hidden_size)
        if self.cell == "lstm":
            return (h, torch.zeros(self.num_layers, 1, self.hidden_size))
        return h


def log_probs(model, seq):
    """Per-step log-probs over seq[:-1], one token at a time as the seed does."""
    out = []
    hidden = model.initHidden()
    with torch.no_grad():
        for t in range(len(seq) - 1):
            x = torch.LongTensor([seq[t]]).unsqueeze(0)
            output, hidden = model(x, hidden)
            out.append(output[0].clone())
    return torch.stack(out)


def train_epoch(model, optimizer, train_set, clip=None):
    """The seed's trainRNN/trainLSTM loop without its shuffle (order given);
    clip: torch.nn.utils.clip_grad_norm_ before each step."""
    criterion = nn.NLLLoss()
    total = 0.0
    for seq in train_set:
        loss = 0
        hidden = model.initHidden()
        for t in range(len(seq) - 1):
            x = torch.LongTensor([seq[t]]).unsqueeze(0)
            y = torch.LongTensor([seq[t + 1]])
            output, hidden = model(x, hidden)
            loss += criterion(output, y)
        loss = 1.0 * loss / len(seq)
        optimizer.zero_grad()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total += loss.item()
    return total / len(train_set)
