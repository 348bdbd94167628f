"""Seed texts for the QDAIF tasks, written for this project (QDAIF seeds LMX with a few).

Each task needs a handful of short examples in the style the few-shot prompt asks
for, spread over the descriptor space so the first prompts already point in several
directions (the stories cover all four genre x ending corners: a 135M model mostly
copies the mood of its examples, so corners without a seed fill slowly).
"""

OPINIONS = (
    "Switching to a plant-based diet was the best choice I made this year: I cook more, "
    "I feel lighter, and lentil stews have become my favourite comfort food.",
    "I tried going vegan for a month and hated it. Every meal felt like a side dish and "
    "I was hungry an hour after eating.",
    "Vegetables are fine as long as someone else cooks them. Roasted carrots, yes; "
    "a plate of boiled spinach, no thanks.",
    "Eating more beans and greens saved me money and my doctor is happy with my blood "
    "pressure, so I am not going back.",
    "Plant-based burgers taste like cardboard to me and cost twice as much as the real "
    "thing. I will keep my steak.",
)

STORIES = (
    "The spy watched the politician count his gold coins by candlelight, and when the "
    "last candle died she heard him whisper her real name from the dark.",
    "Every evening the rich politician left a rose on the park bench, and every evening "
    "the suspicious spy pretended not to notice, until the day she sat down beside him.",
    "The politician bought the old lighthouse for his wedding; the spy, sent to bug it, "
    "found only love letters addressed to her.",
    "The spy followed the politician into the cellar, but the door locked behind them "
    "and something under the floor began to breathe.",
    "After the election the politician retired to the sea, and the spy who had "
    "shadowed him for years finally knocked on his door with a bottle of wine.",
    "The spy fell in love with the politician she was sent to ruin, and on the night he "
    "proposed she handed over the photographs and watched them lead him away in chains.",
    "In the politician's mansion the portraits began to bleed, but the spy found the "
    "cursed mirror, smashed it at dawn, and the two of them walked out into the sun alive.",
    "The politician's guests vanished one by one, and when the spy unlocked the cellar, "
    "the thing wearing his face smiled and shut the door behind her.",
)

POEMS = (
    "Morning frost on glass / the kettle sings a small song / the day opens slow",
    "Beneath the hill the old bells ring, / for lovers lost and lovers found; / "
    "the river keeps the songs we sing / and carries them without a sound.",
    "There once was a cat from the quay / who insisted on Earl Grey tea; / "
    "she sipped it with grace / and a satisfied face, / then knocked the pot into the sea.",
)

TEMPLATES = {
    "opinions": "Here is a random opinion piece about eating vegetables and plant-based foods:\n",
    "stories": "Here is a random example of a fantasy story about a suspicious spy and a "
    "rich politician:\n",
    "poetry": "Here is a random short poem:\n",
}
