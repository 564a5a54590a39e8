"""A seeded procedural generator of short, natural user-assistant conversations: chit-chat, persona, support.

Every conversation alternates user and assistant turns, starts with the user, ends with the assistant and has
4 to 10 turns of 4 to 40 words each, in plain ASCII with no speaker labels. Three kinds:

* ``"chitchat"``: greetings and small talk on one or two of 18 topics (weather, weekend plans, food, cooking,
  films, TV, books, music, sport, fitness, travel, pets, work, school, games, gardening, photography,
  languages). The assistant answers on topic, sometimes asks a follow-up question (which the user then
  answers), and says goodbye when the user does.
* ``"persona"``: the user states facts about themselves early (a name and an interest, often a city, a job or
  a pet, sometimes a preferred tone) and the assistant's later replies use them ("Since you enjoy gardening,
  Maya, ..."). ``Conversation.persona`` holds the facts.
* ``"support"``: the user has a concrete problem with a product (14 products, 3 issues each); the assistant
  asks a clarifying question, gives the solution steps (which contain every word of
  ``problem["keywords"]``), the user confirms it worked or needs a second step, and the assistant closes.

All randomness comes from the ``numpy.random.Generator`` passed in; :func:`conversation_for` derives one from
the index, split and kind, so a conversation is reproducible from those alone and the ``"train"`` and
``"test"`` splits are disjoint random streams.

Example:
    >>> c = conversation_for(0, "train", kind="support")
    >>> c.kind, len(c.turns) % 2
    ('support', 0)
    >>> all(k in c.turns[3].lower() for k in c.problem["keywords"].split(","))
    True
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

__all__ = [
    "CITIES",
    "INTERESTS",
    "JOBS",
    "KINDS",
    "KIND_CODES",
    "NAMES",
    "PETS",
    "PROBLEMS",
    "PRODUCTS",
    "SPLIT_CODES",
    "TONES",
    "TOPICS",
    "Conversation",
    "conversation_for",
    "generate_conversation",
]

KINDS = ("chitchat", "persona", "support")
SPLIT_CODES = {"train": 0, "test": 1}
#: The third seed word of :func:`conversation_for`: ``None`` (a kind drawn at random) or a fixed kind.
KIND_CODES: dict[str | None, int] = {None: 0, "chitchat": 1, "persona": 2, "support": 3}
TONES = ("casual", "formal")
MAX_WORDS = 40

_DRAWS = 64  # random numbers drawn per batch; a conversation uses 7 to 46 (refilled if ever needed)
_DRAW_HIGH = 1 << 40  # so that ``value % n`` is uniform to within 1e-10 for every n used here


@dataclass(frozen=True)
class Conversation:
    """A generated conversation and the structured facts behind it.

    Attributes:
        kind: ``"chitchat"``, ``"persona"`` or ``"support"``.
        turns: 4 to 10 utterances, alternating user (``turns[0]``) and assistant, ending on the assistant.
        persona: for ``"persona"``: ``name``, ``interest`` and ``tone`` (``"casual"`` or ``"formal"``, the
            register both sides write in), and when the user mentions them ``city``, ``job``, ``pet`` and
            ``pet_name``. Every value but ``tone`` appears verbatim in a user turn. ``{}`` for other kinds.
        problem: for ``"support"``: ``product``, ``issue`` (a short description), ``solution`` (a short
            imperative) and ``keywords`` (comma-separated lowercase words that a reply must contain to count
            as solving the problem). ``{}`` for other kinds.

    Example:
        >>> c = Conversation("chitchat", ("Hi, how are you today?", "Very well, thank you for asking!"))
        >>> c.persona, c.problem
        ({}, {})
    """

    kind: str
    turns: tuple[str, ...]
    persona: dict[str, str] = field(default_factory=dict)
    problem: dict[str, str] = field(default_factory=dict)


class _Draw:
    """Indices into tuples from batches of ``rng.integers`` (much faster than a call per choice)."""

    __slots__ = ("_buf", "_pos", "_rng")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buf: list[int] = rng.integers(0, _DRAW_HIGH, size=_DRAWS).tolist()
        self._pos = 0

    def index(self, n: int) -> int:
        if self._pos == _DRAWS:
            self._buf = self._rng.integers(0, _DRAW_HIGH, size=_DRAWS).tolist()
            self._pos = 0
        value = self._buf[self._pos]
        self._pos += 1
        return value % n

    def pick(self, options: tuple):
        return options[self.index(len(options))]

    def chance(self, p: float) -> bool:
        return self.index(1_000_000) < p * 1_000_000


def _words(text: str) -> int:
    return text.count(" ") + 1


def _fit(text: str, extra: str) -> str:
    """``text`` followed by ``extra`` if the two fit in :data:`MAX_WORDS` words, else ``text`` alone."""
    return f"{text} {extra}" if _words(text) + _words(extra) <= MAX_WORDS else text


def _lower_first(text: str) -> str:
    """``text`` with its first letter lowercased, for use after a comma (the pronoun "I" stays)."""
    if text.startswith(("I ", "I'")):
        return text
    return text[0].lower() + text[1:]


# ---------------------------------------------------------------------------------------------------------
# Chit-chat
# ---------------------------------------------------------------------------------------------------------


class _Topic(NamedTuple):
    name: str
    slots: tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...]  # (keys, rows of values)
    open: tuple[str, ...]  # the user brings the topic up (a statement)
    reply: tuple[str, ...]  # the assistant's on-topic answer, no question
    ask: tuple[tuple[str, tuple[str, ...]], ...]  # assistant follow-up question, the user's possible answers
    react: tuple[str, ...]  # the assistant's reaction to any such answer
    more: tuple[tuple[str, tuple[str, ...]], ...]  # a user question on the topic, the assistant's answers
    wish: tuple[str, ...]  # a farewell wish on the topic


def _slot(keys: str, *rows: str | tuple[str, ...]) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    return tuple(keys.split()), tuple(r if isinstance(r, tuple) else (r,) for r in rows)


_TOPICS: tuple[_Topic, ...] = (
    _Topic(
        "weather",
        (
            _slot(
                "weather idea",
                ("rainy", "a hot drink and a good book"),
                ("sunny", "a long walk outside"),
                ("windy", "a cozy afternoon indoors"),
                ("cold", "a bowl of warm soup"),
                ("hot", "a cold drink in the shade"),
                ("foggy", "a quiet morning with some tea"),
                ("snowy", "building a snowman"),
                ("gray", "a movie and some popcorn"),
            ),
        ),
        (
            "It's really {weather} here today.",
            "The weather has been {weather} all week where I live.",
            "I just looked outside and it's {weather} again.",
            "It's so {weather} this morning.",
        ),
        (
            "That sounds like good weather for {idea}.",
            "Oh, I see. Days like that are perfect for {idea}.",
            "Thanks for telling me! It sounds like a good day for {idea}.",
            "I hope it isn't spoiling your plans. Weather like that is a nice excuse for {idea}.",
        ),
        (
            (
                "Do you prefer warm or cool weather?",
                (
                    "I definitely prefer warm weather, I love being outside.",
                    "Cool weather, honestly. I can't stand the heat.",
                    "Somewhere in the middle, not too hot and not too cold.",
                ),
            ),
            (
                "What do you usually do on days like that?",
                (
                    "I usually stay in and watch a film.",
                    "I normally go for a walk anyway.",
                    "Mostly I just catch up on chores at home.",
                ),
            ),
            (
                "Is it like that often where you live?",
                (
                    "Yes, it's like this most of the year.",
                    "Not really, it changes all the time.",
                    "Only at this time of year, luckily.",
                ),
            ),
            (
                "Which season do you like best?",
                (
                    "Autumn, because of all the colors.",
                    "Spring, when everything starts growing again.",
                    "Summer, I love the long evenings.",
                    "Winter, I love cozy evenings at home.",
                ),
            ),
        ),
        (
            "That sounds lovely. A bit of fresh air or a cozy day in can both be great.",
            "Fair enough! Everyone has their own favorite kind of weather.",
            "That makes sense. It's nice to make the most of whatever the weather brings.",
        ),
        (
            (
                "Any ideas for what to do on a day like this?",
                (
                    "How about {idea}? It's a simple way to enjoy the day.",
                    "You could try {idea}, or call a friend you haven't spoken to in a while.",
                ),
            ),
            (
                "Do you have a favorite kind of weather?",
                (
                    "I don't feel the weather myself, but a mild spring morning sounds lovely to me.",
                    "If I had to choose, I'd pick a crisp, sunny autumn day.",
                ),
            ),
            (
                "Do you think it will stay like this for the weekend?",
                (
                    "I can't check a forecast from here, but a weather app will give you a good idea for the next few "
                    "days.",
                    "I'm not sure, but the local forecast should tell you. Either way, it's good to have a backup "
                    "plan.",
                ),
            ),
        ),
        ("Enjoy the rest of your day, whatever the weather!", "I hope the weather treats you well.", "Enjoy {idea}!"),
    ),
    _Topic(
        "weekend",
        (
            _slot(
                "plan",
                "go hiking with my sister",
                "visit my grandparents",
                "paint the spare room",
                "try a new cafe in town",
                "go to a concert",
                "clean out the garage",
                "have a picnic by the lake",
                "host a small dinner party",
            ),
        ),
        (
            "This weekend I'm planning to {plan}.",
            "I'm hoping to {plan} on Saturday.",
            "My big plan for the weekend is to {plan}.",
            "I finally have a free weekend, so I want to {plan}.",
        ),
        (
            "That sounds like a great way to spend the weekend.",
            "Nice! It's good to have something to look forward to.",
            "What a lovely plan. I hope the weekend goes exactly the way you want it to.",
            "That sounds fun, and a good break from the usual routine.",
        ),
        (
            (
                "Who are you spending the weekend with?",
                (
                    "Mostly my family, and maybe a couple of friends.",
                    "Just me, to be honest. I need some quiet time.",
                    "My partner and our two kids.",
                ),
            ),
            (
                "Do you have anything else planned?",
                (
                    "Not really, I want to keep Sunday free to rest.",
                    "Maybe a movie on Sunday night.",
                    "I might go for a run on Sunday morning.",
                ),
            ),
            (
                "Is this something you do often?",
                (
                    "Not often, which is why I'm excited about it.",
                    "Yes, it's become a bit of a tradition.",
                    "It's the first time in months.",
                ),
            ),
        ),
        (
            "That sounds like a good balance. Rest matters as much as fun.",
            "Lovely. Weekends like that are the ones you remember.",
            "That's great to hear. I hope you come back on Monday feeling refreshed.",
        ),
        (
            (
                "Do you have any tips for making the weekend feel longer?",
                (
                    "Try to start Saturday a little early and keep one evening with no plans at all. It makes the "
                    "weekend "
                    "feel less rushed.",
                    "Plan one special thing per day and leave the rest open. Trying something new also makes time "
                    "feel "
                    "fuller.",
                ),
            ),
            (
                "Should I plan everything or keep it relaxed?",
                (
                    "A bit of both works well. Book the one thing that matters and keep the rest flexible.",
                    "Keep it mostly relaxed. One fixed plan is enough to make the weekend feel special.",
                ),
            ),
            (
                "What would you do with a free weekend?",
                (
                    "I don't get weekends myself, but a long walk, a good meal and an early night sound perfect.",
                    "If I could, I'd spend it exploring a new town and trying the local food.",
                ),
            ),
        ),
        (
            "Have a wonderful weekend!",
            "Enjoy your weekend plans!",
            "I hope the weekend is everything you want it to be.",
        ),
    ),
    _Topic(
        "food",
        (
            _slot(
                "dish cuisine",
                ("pad thai", "Thai"),
                ("a spicy curry", "Indian"),
                ("homemade pizza", "Italian"),
                ("ramen", "Japanese"),
                ("tacos", "Mexican"),
                ("a Greek salad", "Greek"),
                ("dumplings", "Chinese"),
                ("paella", "Spanish"),
                ("bibimbap", "Korean"),
            ),
        ),
        (
            "I just had {dish} for lunch and it was amazing.",
            "I've been craving {dish} all day.",
            "My favorite food at the moment is {dish}.",
            "I had {dish} at a new restaurant last night.",
        ),
        (
            "Yum, {cuisine} food has so much flavor.",
            "That sounds delicious. {cuisine} cooking is hard to beat.",
            "Oh, nice choice! It's hard to go wrong with {cuisine} food.",
            "Good food can really make a day better, and {cuisine} dishes are a great pick.",
        ),
        (
            (
                "Do you like to cook it yourself, or do you prefer eating out?",
                (
                    "I mostly eat out, I'm not much of a cook.",
                    "I like cooking it myself when I have the time.",
                    "A bit of both, depending on how tired I am.",
                ),
            ),
            (
                "What's your favorite dish of all time?",
                (
                    "Probably my grandmother's lasagna.",
                    "That's hard, but I'd say a good curry.",
                    "Fresh bread with butter, honestly.",
                ),
            ),
            (
                "Do you like spicy food?",
                (
                    "Yes, the spicier the better!",
                    "Only a little, I can't handle too much heat.",
                    "Not really, I prefer mild flavors.",
                ),
            ),
        ),
        (
            "That sounds perfect. Food is one of life's simple pleasures.",
            "I love that. Everyone's taste in food tells a little story about them.",
            "Fair enough! The best food is the food you actually enjoy.",
        ),
        (
            (
                "Can you suggest something easy to cook for dinner tonight?",
                (
                    "How about a quick stir fry? Fry some vegetables with garlic and soy sauce, add noodles or rice, "
                    "and "
                    "dinner is ready in twenty minutes.",
                    "Try a simple pasta with tomatoes, garlic and olive oil. It takes about fifteen minutes and "
                    "tastes "
                    "great.",
                ),
            ),
            (
                "Is it okay to eat the same thing every day?",
                (
                    "It's fine now and then, but variety gives you a wider range of nutrients. Try switching one "
                    "ingredient each day.",
                    "A routine is convenient, but mixing in different vegetables and proteins is better for you.",
                ),
            ),
            (
                "What should I try next time I eat out?",
                (
                    "Try a cuisine you've never had before, like Ethiopian or Korean, and ask the staff for their "
                    "favorite dish.",
                    "Order the dish you can't pronounce! Trying something unfamiliar is half the fun of eating out.",
                ),
            ),
        ),
        ("Enjoy your next meal!", "Happy eating!", "I hope your next meal is just as tasty."),
    ),
    _Topic(
        "cooking",
        (
            _slot(
                "recipe",
                "banana bread",
                "a vegetable lasagna",
                "chocolate chip cookies",
                "a lemon cake",
                "homemade bread",
                "chicken soup",
                "a mushroom risotto",
                "apple pie",
            ),
        ),
        (
            "I'm going to make {recipe} this afternoon.",
            "I made {recipe} yesterday and it actually turned out well.",
            "I want to learn how to make {recipe}.",
            "My kitchen smells amazing because I'm making {recipe}.",
        ),
        (
            "Oh, that sounds delicious. Homemade food always tastes better.",
            "Good for you! Cooking at home is relaxing and usually healthier too.",
            "That sounds lovely. There's nothing like the smell of something cooking in the kitchen.",
            "Yum! Making {recipe} from scratch is a real treat.",
        ),
        (
            (
                "Do you follow a recipe, or do you make it up as you go?",
                (
                    "I follow a recipe closely, I'm still learning.",
                    "I mostly improvise and hope for the best.",
                    "I start with a recipe and then change things.",
                ),
            ),
            (
                "Who taught you to cook?",
                (
                    "My dad taught me when I was a teenager.",
                    "Mostly online videos, to be honest.",
                    "I taught myself after I moved out.",
                ),
            ),
            (
                "What do you enjoy cooking the most?",
                (
                    "Anything with lots of vegetables.",
                    "Desserts, definitely. I have a sweet tooth.",
                    "Soups and stews in the winter.",
                ),
            ),
        ),
        (
            "That's great. Every dish you make teaches you something new.",
            "Lovely. Cooking is such a nice mix of creativity and comfort.",
            "That sounds wonderful. Sharing homemade food is one of the best ways to make people happy.",
        ),
        (
            (
                "How do I stop my cakes from sinking in the middle?",
                (
                    "Make sure the oven is fully heated before the cake goes in, and don't open the door during the "
                    "first twenty minutes.",
                    "Check that your baking powder is fresh and avoid overmixing the batter once the flour is in.",
                ),
            ),
            (
                "Any tips for a beginner in the kitchen?",
                (
                    "Start with a few simple recipes and make them several times. Keep your knives sharp and taste as "
                    "you go.",
                    "Read the whole recipe before you start and prepare all the ingredients first. It makes cooking "
                    "much "
                    "calmer.",
                ),
            ),
            (
                "What's a good dish to cook for guests?",
                (
                    "A big pot of chili or a tray of roast vegetables is easy to make ahead and feeds a crowd.",
                    "A simple pasta bake is a safe choice. You can prepare it early and just heat it when guests "
                    "arrive.",
                ),
            ),
        ),
        ("Happy cooking!", "Enjoy your time in the kitchen!", "I hope the {recipe} turns out delicious."),
    ),
    _Topic(
        "films",
        (
            _slot(
                "a_genre genres",
                ("a comedy", "comedies"),
                ("a thriller", "thrillers"),
                ("a science fiction film", "science fiction films"),
                ("a horror film", "horror films"),
                ("a romantic comedy", "romantic comedies"),
                ("a documentary", "documentaries"),
                ("an animated film", "animated films"),
                ("a mystery", "mysteries"),
                ("an old western", "westerns"),
            ),
        ),
        (
            "I watched {a_genre} last night and really enjoyed it.",
            "I'm in the mood to watch {a_genre} tonight.",
            "I went to the cinema yesterday and saw {a_genre}.",
            "Lately I've been watching a lot of {genres}.",
        ),
        (
            "That sounds like fun. Good {genres} can be really memorable.",
            "Nice! A good film is a great way to relax after a long day.",
            "Oh, I love hearing about films. There are so many great {genres} out there.",
            "Films are such a nice escape, and {genres} are a great choice for that.",
        ),
        (
            (
                "Do you prefer watching films at home or at the cinema?",
                (
                    "At home, with snacks and a blanket.",
                    "The cinema, nothing beats the big screen.",
                    "Home, mostly, because the cinema is expensive now.",
                ),
            ),
            (
                "What's the best film you've seen this year?",
                (
                    "Probably a small drama I saw on a flight.",
                    "I don't remember the title, but it was a brilliant space adventure.",
                    "A documentary about the ocean, it was stunning.",
                ),
            ),
            (
                "Do you like to watch films alone or with friends?",
                (
                    "With friends, it's more fun to talk about it afterwards.",
                    "Alone, so I can really focus.",
                    "With my family on Friday nights.",
                ),
            ),
        ),
        (
            "That sounds perfect. The way you watch a film can make it even better.",
            "Lovely. It's great when a film stays with you for days afterwards.",
            "Nice, that sounds like a great movie night.",
        ),
        (
            (
                "Can you recommend a type of film for a rainy evening?",
                (
                    "A cozy mystery or a classic comedy works well on a rainy evening. Something light and a little "
                    "clever.",
                    "An animated film is a great choice. They're warm and fun, and good for any age.",
                ),
            ),
            (
                "Why do people love scary movies so much?",
                (
                    "Scary movies give a safe thrill. Your heart races, but you know you're safe on the couch.",
                    "Many people enjoy the rush of fear without any real danger, and it's fun to share with friends.",
                ),
            ),
            (
                "Is it worth watching old classic films?",
                (
                    "Definitely. Many classics shaped the films we watch today, and some of them are still wonderful.",
                    "Yes! Older films can feel slower, but the stories and performances are often excellent.",
                ),
            ),
        ),
        ("Enjoy your next movie night!", "Happy watching!", "I hope your next film is a great one."),
    ),
    _Topic(
        "tv",
        (
            _slot(
                "show",
                "a cooking competition",
                "a crime drama",
                "a nature series",
                "a fantasy series",
                "a reality show",
                "a history series",
                "a sitcom",
                "a baking show",
            ),
        ),
        (
            "I've been binge watching {show} this week.",
            "I just started {show} and I'm already hooked.",
            "My family and I watch {show} together every evening.",
            "I finished {show} last night and now I don't know what to watch.",
        ),
        (
            "That sounds like fun. It's great when a show really pulls you in.",
            "Nice! A good series is perfect for winding down in the evening.",
            "Oh, I know that feeling. Finding a show you love is such a treat.",
        ),
        (
            (
                "Do you watch one episode at a time or several in a row?",
                (
                    "Several in a row, I have no self control.",
                    "Just one a night, it makes it last longer.",
                    "It depends on how good the cliffhanger is.",
                ),
            ),
            (
                "Who is your favorite character so far?",
                (
                    "The grumpy old detective, he's hilarious.",
                    "I like the host, she's really kind.",
                    "Hard to say, they're all great.",
                ),
            ),
            (
                "How did you find the show?",
                ("A friend recommended it to me.", "It kept appearing on my home screen.", "I read a review online."),
            ),
        ),
        (
            "Ha, that's very relatable. A good show is hard to put down.",
            "That's lovely. A show like that can really brighten the evenings.",
            "Nice. It's always good to have a show to look forward to.",
        ),
        (
            (
                "What should I watch after I finish it?",
                (
                    "Try something in a different genre, like a short documentary series. It's a nice change of pace.",
                    "Ask friends what they're watching, or look for a show by the same creators.",
                ),
            ),
            (
                "Is it bad to watch TV every night?",
                (
                    "Not at all, as long as you still sleep well and make time for other things you enjoy.",
                    "It's fine in moderation. Maybe switch off half an hour before bed to help you sleep.",
                ),
            ),
        ),
        ("Enjoy the next episode!", "Happy watching!", "I hope the next episode is a good one."),
    ),
    _Topic(
        "books",
        (
            _slot(
                "a_book books",
                ("a mystery novel", "mystery novels"),
                ("a fantasy novel", "fantasy novels"),
                ("a biography", "biographies"),
                ("a science fiction novel", "science fiction"),
                ("a book of poetry", "poetry"),
                ("a history book", "history books"),
                ("a thriller", "thrillers"),
                ("a travel memoir", "travel memoirs"),
            ),
        ),
        (
            "I'm reading {a_book} at the moment and I can't put it down.",
            "I just finished {a_book} and I loved the ending.",
            "I've started reading more {books} this year.",
            "I picked up {a_book} at the library yesterday.",
        ),
        (
            "That sounds wonderful. There's nothing like getting lost in a good book.",
            "Oh, nice! Reading is one of the best ways to unwind.",
            "Lovely. A good book can make a quiet evening feel special.",
            "That's great. Reading {books} is a lovely habit to have.",
        ),
        (
            (
                "Do you prefer paper books or e-books?",
                (
                    "Paper books, I love the smell of them.",
                    "E-books, they're easier to carry around.",
                    "Audiobooks, actually, I listen while I commute.",
                ),
            ),
            (
                "When do you usually read?",
                ("Mostly in bed before I go to sleep.", "On the train to work.", "On Sunday mornings with a coffee."),
            ),
            (
                "Who is your favorite author?",
                (
                    "I don't have one favorite, I like trying new writers.",
                    "I've read everything by one crime writer I love.",
                    "Probably whoever wrote the last good book I read.",
                ),
            ),
        ),
        (
            "That's lovely. Books are great company.",
            "Nice! It sounds like reading is a real part of your life.",
            "I like that. Reading is such a personal thing, and it's great that you enjoy it.",
        ),
        (
            (
                "How can I find time to read more?",
                (
                    "Try reading for just ten minutes before bed, or keep a book in your bag for spare moments. It "
                    "adds "
                    "up quickly.",
                    "Swap some phone time for a book, even twenty minutes a day. Audiobooks also help on commutes.",
                ),
            ),
            (
                "What should I read next?",
                (
                    "Try something outside your usual genre, like a short memoir or a classic novel. It can be a nice "
                    "surprise.",
                    "Ask a librarian or a friend for their favorite book. Personal recommendations are often the best.",
                ),
            ),
            (
                "Is it okay to stop reading a book I don't like?",
                (
                    "Absolutely. Life is too short for books you don't enjoy, and there are plenty of others waiting.",
                    "Yes, of course. Give it a few chapters, and if it still doesn't work for you, move on.",
                ),
            ),
        ),
        ("Happy reading!", "Enjoy your next book!", "I hope your next book is just as good."),
    ),
    _Topic(
        "music",
        (
            _slot(
                "genre",
                "jazz",
                "classical music",
                "hip hop",
                "rock",
                "country music",
                "pop",
                "folk music",
                "electronic music",
                "the blues",
                "reggae",
            ),
        ),
        (
            "I've been listening to a lot of {genre} lately.",
            "I can't stop listening to {genre} this week.",
            "I've started learning more about {genre}.",
            "I put on some {genre} while I was working today.",
        ),
        (
            "Great choice! Music can really lift your mood.",
            "Nice, {genre} is perfect for so many moments.",
            "That sounds lovely. The right music makes any day better.",
            "Oh, I like that. It's nice to have music that matches your mood.",
        ),
        (
            (
                "Do you play any instruments?",
                (
                    "I played piano as a kid, but I've forgotten most of it.",
                    "No, but I'd love to learn the guitar.",
                    "Yes, I play drums in a small band.",
                ),
            ),
            (
                "Have you been to any concerts recently?",
                (
                    "Not for a while, tickets are so expensive.",
                    "Yes, I saw a small band in a local bar last month.",
                    "I went to a festival in the summer.",
                ),
            ),
            (
                "Do you listen to music while you work?",
                (
                    "Always, it helps me focus.",
                    "Only when I'm doing something easy.",
                    "No, I need silence to concentrate.",
                ),
            ),
        ),
        (
            "That's great. Music fits into everyone's life a little differently.",
            "Lovely! Music has a way of making ordinary moments feel special.",
            "Nice, thanks for sharing. It's fun to hear how people enjoy music.",
        ),
        (
            (
                "How can I find new music I'll like?",
                (
                    "Try playlists built around artists you already love, and ask friends what they're listening to.",
                    "Pick one artist you like and explore who influenced them. It's a great way to discover new music.",
                ),
            ),
            (
                "Is it too late to learn an instrument as an adult?",
                (
                    "Not at all. Adults learn instruments all the time, and fifteen minutes of practice a day makes a "
                    "real difference.",
                    "Never too late! Start with a simple instrument like the ukulele and practice a little every day.",
                ),
            ),
        ),
        ("Enjoy the music!", "Happy listening!", "I hope you find some great new songs."),
    ),
    _Topic(
        "sport",
        (
            _slot(
                "sport event",
                ("football", "match"),
                ("basketball", "game"),
                ("tennis", "match"),
                ("cricket", "match"),
                ("baseball", "game"),
                ("rugby", "match"),
                ("hockey", "game"),
                ("volleyball", "game"),
            ),
        ),
        (
            "I watched a great {sport} {event} last night.",
            "My local {sport} team won their {event} on Saturday.",
            "I've started playing {sport} on weekends.",
            "I'm so tired after playing {sport} this morning.",
        ),
        (
            "That sounds like fun. There's always so much energy around {sport}.",
            "Great! Whether you play it or watch it, {sport} is exciting.",
            "Oh, nice. Sport has a way of bringing people together.",
        ),
        (
            (
                "Do you prefer playing sports or watching them?",
                (
                    "Watching, mostly. I'm not very sporty.",
                    "Playing, I get bored just watching.",
                    "Both, depending on the day.",
                ),
            ),
            (
                "How long have you been into {sport}?",
                (
                    "Since I was a kid, my dad took me to games.",
                    "Only a couple of years, a friend got me into it.",
                    "Just a few months, I'm still learning the rules.",
                ),
            ),
            (
                "Do you have a favorite team?",
                (
                    "Yes, my hometown team, even when they lose.",
                    "Not really, I just enjoy a good game.",
                    "I support whoever my friends support.",
                ),
            ),
        ),
        (
            "That's great. Having a sport you care about makes the weekends more exciting.",
            "Ha, that's a good way to enjoy it. Sport is more fun when it's shared.",
            "Nice! It sounds like {sport} is a fun part of your life.",
        ),
        (
            (
                "How do I avoid getting sore after playing?",
                (
                    "Warm up for ten minutes before you play, stretch gently afterwards and drink plenty of water.",
                    "Build up slowly, stretch after playing and get a good night's sleep. Soreness usually fades in a "
                    "day or two.",
                ),
            ),
            (
                "Is {sport} a good way to get fit?",
                (
                    "Yes, it's great for fitness, balance and teamwork. Playing once or twice a week already helps a "
                    "lot.",
                    "Definitely. It combines running, coordination and fun, which makes it easier to stick with.",
                ),
            ),
        ),
        ("Enjoy the next {event}!", "Enjoy all that {sport}!", "I hope your team keeps winning!"),
    ),
    _Topic(
        "fitness",
        (
            _slot(
                "exercise",
                "running",
                "swimming",
                "yoga",
                "lifting weights",
                "cycling to work",
                "walking every morning",
                "pilates",
                "going to the gym",
            ),
        ),
        (
            "I've started {exercise} to get healthier.",
            "I'm trying to make {exercise} a regular habit.",
            "I just finished my first week of {exercise} and I feel great.",
            "I want to get fitter, so I'm thinking about {exercise}.",
        ),
        (
            "That's a great step. Regular exercise does wonders for your mood and your health.",
            "Good for you! Building a healthy habit takes effort, and you're doing it.",
            "Nice choice! Staying active is one of the best things you can do for yourself.",
        ),
        (
            (
                "How often do you manage to exercise?",
                ("About three times a week, if I'm lucky.", "Almost every day now.", "Only on weekends at the moment."),
            ),
            (
                "What made you decide to start?",
                (
                    "My doctor suggested it.",
                    "I wanted more energy during the day.",
                    "A friend challenged me to join her.",
                ),
            ),
            (
                "Do you exercise alone or with someone?",
                ("Alone, with a podcast.", "With a friend, it keeps me motivated.", "In a group class."),
            ),
        ),
        (
            "That's a solid start. Consistency matters much more than intensity.",
            "Great! Keep it fun and it will be easy to stick with.",
            "That sounds like a good setup. Small steady steps really add up.",
        ),
        (
            (
                "How do I stay motivated when I'm tired?",
                (
                    "Set a very small goal, like ten minutes. Once you start, you'll often keep going, and rest days "
                    "are "
                    "fine too.",
                    "Plan your sessions like appointments and track your progress. Seeing improvement is a big "
                    "motivator.",
                ),
            ),
            (
                "How much exercise should I do each week?",
                (
                    "A common guideline is about 150 minutes of moderate activity a week, plus some strength work "
                    "twice "
                    "a week.",
                    "Aim for around thirty minutes on most days. Even short walks count, and a little is better than "
                    "nothing.",
                ),
            ),
        ),
        ("Keep up the great work!", "Enjoy your next workout!", "Good luck with your new routine!"),
    ),
    _Topic(
        "travel",
        (
            _slot(
                "place",
                "Japan",
                "Portugal",
                "Iceland",
                "Mexico",
                "Italy",
                "Canada",
                "New Zealand",
                "Morocco",
                "Norway",
                "Vietnam",
                "Peru",
                "Greece",
            ),
        ),
        (
            "I'm planning a trip to {place} next month.",
            "I just got back from a week in {place}.",
            "I've always wanted to visit {place}.",
            "My friends and I are saving up for a trip to {place}.",
        ),
        (
            "How exciting! {place} has so much to offer.",
            "That sounds amazing. {place} is a wonderful place to explore.",
            "Oh, lovely! Travel is such a great way to see the world differently.",
            "What a great choice. I've heard wonderful things about {place}.",
        ),
        (
            (
                "What are you most excited to see there?",
                (
                    "The food, mostly, and the old towns.",
                    "The mountains and the coastline.",
                    "Honestly, just walking around without a plan.",
                ),
            ),
            (
                "Do you prefer to plan every detail or go with the flow?",
                (
                    "I plan everything, it makes me feel calm.",
                    "I book the flights and decide the rest later.",
                    "Go with the flow, always.",
                ),
            ),
            (
                "Do you usually travel alone or with others?",
                ("Usually with my partner.", "Mostly alone, I like the freedom.", "With friends whenever we can."),
            ),
        ),
        (
            "That sounds wonderful. The best trips mix a plan with a little surprise.",
            "Lovely. It sounds like you know exactly how you like to travel.",
            "That's great. Travel memories are some of the best ones we have.",
        ),
        (
            (
                "Any tips for packing light?",
                (
                    "Pick clothes that all match each other, roll them instead of folding and bring one pair of "
                    "comfortable shoes.",
                    "Lay out everything you want to take, then put half of it back. You can buy small things there.",
                ),
            ),
            (
                "How do I avoid jet lag?",
                (
                    "Switch to local time as soon as you arrive, get some daylight in the morning and drink plenty of "
                    "water.",
                    "Try to sleep on the plane if it's night at your destination, and avoid long naps on the first "
                    "day.",
                ),
            ),
            (
                "What should I do on my first day in a new city?",
                (
                    "Take a long walk, find a local cafe and get a feel for the place before you visit the big sights.",
                    "Join a walking tour. It's a great way to learn the layout and pick up tips from a local guide.",
                ),
            ),
        ),
        ("Safe travels on your next adventure!", "Happy travels!", "Enjoy planning your next adventure!"),
    ),
    _Topic(
        "pets",
        (
            _slot("pet", "dog", "cat", "rabbit", "parrot", "hamster", "puppy", "kitten", "guinea pig"),
            _slot("pet_name", "Biscuit", "Luna", "Max", "Pepper", "Milo", "Coco", "Oscar", "Daisy", "Ziggy"),
        ),
        (
            "My {pet} {pet_name} did the funniest thing this morning.",
            "We just adopted a {pet} called {pet_name}.",
            "My {pet} {pet_name} has been keeping me company all day.",
            "I can't stop taking photos of my {pet}, {pet_name}.",
        ),
        (
            "Aw, that's lovely. Pets bring so much joy into a home.",
            "That's wonderful! A {pet} can be such great company.",
            "Oh, how sweet. Animals have a way of making every day brighter.",
        ),
        (
            (
                "How old is {pet_name}?",
                (
                    "Just a year old, and still very playful.",
                    "About five, but still full of energy.",
                    "Nearly ten now, and getting a bit lazy.",
                ),
            ),
            (
                "What is {pet_name} like?",
                (
                    "{pet_name} is very cheeky and always hungry.",
                    "Calm and cuddly, most of the time.",
                    "Curious about everything, especially the fridge.",
                ),
            ),
            (
                "Is {pet_name} your first pet?",
                (
                    "Yes, and I can't imagine life without pets now.",
                    "No, we always had animals when I was growing up.",
                    "Yes, and I'm learning a lot as I go.",
                ),
            ),
        ),
        (
            "{pet_name} sounds like a real character!",
            "That's lovely. It sounds like {pet_name} is lucky to have you.",
            "Aw, I love that. Pets really become part of the family.",
        ),
        (
            (
                "How do I stop my {pet} from getting bored?",
                (
                    "Rotate a few toys, play together every day and try simple puzzle feeders. New smells and short "
                    "training games help too.",
                    "Regular play, a little training and some new toys now and then keep most pets happy and curious.",
                ),
            ),
            (
                "How often should I take {pet_name} to the vet?",
                (
                    "A checkup once a year is a good rule for most pets, and more often for very young or older "
                    "animals.",
                    "Usually once a year, plus any time you notice changes in eating, sleeping or behavior.",
                ),
            ),
        ),
        ("Give {pet_name} a pat from me!", "Say hello to {pet_name} for me!"),
    ),
    _Topic(
        "work",
        (
            _slot(
                "task your_task",
                ("a big presentation", "your presentation"),
                ("a job interview", "your interview"),
                ("a deadline on Friday", "your deadline"),
                ("a performance review", "your review"),
                ("an important meeting", "your meeting"),
                ("a client pitch", "your pitch"),
            ),
        ),
        (
            "I have {task} at work this week and I'm a bit nervous.",
            "Work has been really stressful because of {task}.",
            "I'm preparing for {task} tomorrow.",
            "I've been so busy getting ready for {task}.",
        ),
        (
            "That sounds like a lot on your plate. It's normal to feel a bit nervous.",
            "Good luck with it! Preparing ahead is already a great sign.",
            "I hear you. Busy times at work can be tiring, so make sure to take short breaks.",
        ),
        (
            (
                "How do you usually deal with stress at work?",
                ("I go for a walk at lunch.", "I make long to-do lists.", "Honestly, I drink too much coffee."),
            ),
            (
                "Do you enjoy your job overall?",
                (
                    "Mostly, yes, I like my team.",
                    "It has its ups and downs.",
                    "It's fine, but I'm thinking about a change.",
                ),
            ),
            (
                "What kind of work do you do?",
                (
                    "I work in marketing.",
                    "I'm a nurse at the local hospital.",
                    "I'm an accountant, so it's numbers all day.",
                ),
            ),
        ),
        (
            "That sounds sensible. Taking care of yourself makes the busy weeks easier.",
            "Thanks for sharing. Work is a big part of life, so it matters how it feels.",
            "That makes sense. A good balance between work and rest goes a long way.",
        ),
        (
            (
                "How can I calm my nerves beforehand?",
                (
                    "Take a few slow, deep breaths, go over your main points once more and remind yourself that "
                    "you've "
                    "prepared well.",
                    "Arrive early, get a glass of water and picture it going well. A little nervousness can actually "
                    "help you focus.",
                ),
            ),
            (
                "How do I stop thinking about work in the evening?",
                (
                    "Write down tomorrow's tasks before you finish, then close your laptop and do something active or "
                    "social.",
                    "Create a small end-of-day ritual, like a walk or changing clothes, to tell your brain that work "
                    "is "
                    "over.",
                ),
            ),
        ),
        ("Good luck with {your_task}!", "I hope the rest of your week goes smoothly."),
    ),
    _Topic(
        "school",
        (
            _slot("subject", "math", "chemistry", "history", "biology", "French", "economics", "physics", "literature"),
            _slot(
                "test your_test",
                ("an exam", "your exam"),
                ("a test", "your test"),
                ("a presentation", "your presentation"),
                ("a quiz", "your quiz"),
            ),
        ),
        (
            "I have {test} in {subject} next week.",
            "I've been preparing for {test} in {subject} all week.",
            "I'm worried about {test} in {subject} tomorrow.",
            "Studying {subject} is harder than I expected this year.",
        ),
        (
            "That sounds like a busy time. You've clearly been putting in the effort.",
            "Good luck! Steady practice really helps with {subject}.",
            "I'm sure you'll do well. Preparing ahead makes a big difference.",
        ),
        (
            (
                "How do you usually study?",
                (
                    "I make flashcards and test myself.",
                    "I read my notes again and again.",
                    "I study with a friend, it keeps me focused.",
                ),
            ),
            (
                "Do you enjoy {subject}?",
                (
                    "Mostly, but some topics are really hard.",
                    "Not really, it's just a required class.",
                    "Yes, it's my favorite subject.",
                ),
            ),
        ),
        (
            "That's fair. Every subject has its hard parts, and you're working through them.",
            "Good to know. A calm, steady approach will carry you a long way.",
            "That makes sense. Just remember to take breaks and get enough sleep.",
        ),
        (
            (
                "What's the best way to study for a test?",
                (
                    "Spread your study over several short sessions, test yourself with practice questions and sleep "
                    "well "
                    "the night before.",
                    "Explain the topics out loud as if you were teaching them. If you can teach it, you understand it.",
                ),
            ),
            (
                "How do I stop procrastinating?",
                (
                    "Break the work into tiny tasks and start with a five-minute timer. Starting is usually the "
                    "hardest "
                    "part.",
                    "Put your phone in another room and reward yourself after each study block.",
                ),
            ),
        ),
        ("Good luck with {your_test}!", "You've got this. Good luck with your studies!"),
    ),
    _Topic(
        "games",
        (
            _slot(
                "game",
                "a new puzzle game",
                "an old racing game",
                "a farming game",
                "a strategy board game",
                "a card game with friends",
                "an online adventure game",
                "a chess app",
                "a word game",
            ),
        ),
        (
            "I've been playing {game} every evening this week.",
            "I stayed up way too late playing {game}.",
            "My friends got me into {game} recently.",
            "I can't stop thinking about {game} I started playing.",
        ),
        (
            "That sounds like fun. Games are a great way to unwind.",
            "Ha, it's easy to lose track of time when a game is that good.",
            "Nice! It's great to have a game you look forward to.",
        ),
        (
            (
                "Do you prefer playing alone or with other people?",
                ("With friends, it's much more fun.", "Alone, it's how I relax.", "Both, depending on my mood."),
            ),
            (
                "What kind of games do you enjoy most?",
                (
                    "Puzzles and anything with a good story.",
                    "Fast games with lots of action.",
                    "Slow, cozy games where nothing bad happens.",
                ),
            ),
            (
                "How long have you been into games?",
                ("Since I was little.", "Only a year or two.", "I'm getting back into them after a long break."),
            ),
        ),
        (
            "That sounds great. Everyone has their own favorite way to play.",
            "Lovely. Games can be relaxing, social and challenging all at once.",
            "Nice! It's good to have a hobby that's pure fun.",
        ),
        (
            (
                "How do I stop playing so late at night?",
                (
                    "Set an alarm for an hour before bed and stop at the end of the next level or round.",
                    "Decide on a stopping point before you start, and keep the console or phone out of the bedroom.",
                ),
            ),
            (
                "Can you suggest a game to play with family?",
                (
                    "Try a simple card game or a cooperative board game. Everyone plays together against the game, so "
                    "nobody feels left out.",
                    "Party games with drawing or guessing work well for all ages and get everyone laughing.",
                ),
            ),
        ),
        ("Have fun with your games!", "Enjoy your next game!", "Good luck and have fun!"),
    ),
    _Topic(
        "gardening",
        (
            _slot(
                "plant", "tomatoes", "herbs", "sunflowers", "strawberries", "roses", "chili peppers", "beans", "tulips"
            ),
        ),
        (
            "I planted some {plant} in my garden this weekend.",
            "My {plant} are finally starting to grow.",
            "I'm trying to grow {plant} on my balcony.",
            "I spent the whole morning looking after my {plant}.",
        ),
        (
            "How lovely! There's something very satisfying about growing your own plants.",
            "That sounds wonderful. Gardening is so good for the mind.",
            "Nice! Growing {plant} is a rewarding project.",
        ),
        (
            (
                "How long have you been gardening?",
                ("Only since last spring.", "For years, I learned from my mother.", "This is my very first try."),
            ),
            (
                "Do you grow anything else?",
                (
                    "A few herbs on the windowsill.",
                    "Not yet, but I want to try potatoes.",
                    "Some flowers for the bees.",
                ),
            ),
            (
                "Do you have a big garden?",
                (
                    "No, just a small balcony.",
                    "It's a decent size, with a little vegetable patch.",
                    "I share a community garden with my neighbors.",
                ),
            ),
        ),
        (
            "That sounds lovely. Every garden, big or small, is worth it.",
            "Great! Gardening teaches a lot of patience, and the results are worth it.",
            "How nice. Plants make any space feel more alive.",
        ),
        (
            (
                "How often should I water them?",
                (
                    "Check the soil with your finger. If the top inch is dry, water deeply, usually every two or "
                    "three "
                    "days in summer.",
                    "Water in the morning, deeply rather than a little every day, and more often when it's hot.",
                ),
            ),
            (
                "How do I keep pests away naturally?",
                (
                    "Plant marigolds or herbs nearby, pick pests off by hand and welcome birds and ladybugs into the "
                    "garden.",
                    "A spray of water with a little mild soap helps with many pests, and companion planting keeps "
                    "others "
                    "away.",
                ),
            ),
        ),
        ("Happy gardening!", "I hope your {plant} grow beautifully!"),
    ),
    _Topic(
        "photography",
        (
            _slot(
                "subject",
                "birds",
                "old buildings",
                "sunsets",
                "street scenes",
                "my friends",
                "flowers",
                "the night sky",
                "the sea",
            ),
        ),
        (
            "I took some photos of {subject} this weekend.",
            "I've gotten really into photographing {subject}.",
            "I bought a secondhand camera to take pictures of {subject}.",
        ),
        (
            "That sounds like a beautiful hobby. Photos help you notice details you'd usually miss.",
            "How lovely! Photographing {subject} can be so rewarding.",
            "Nice! Photography is a great way to see the world a little differently.",
        ),
        (
            (
                "Do you use a camera or your phone?",
                (
                    "Just my phone for now.",
                    "An old camera I found at a flea market.",
                    "A proper camera, I saved up for it.",
                ),
            ),
            (
                "What do you do with your photos?",
                (
                    "I share a few online.",
                    "I print my favorites and put them on the wall.",
                    "Mostly they stay on my laptop, to be honest.",
                ),
            ),
        ),
        (
            "That's great. The best camera is the one you actually use.",
            "Lovely. It's nice to have a creative hobby that gets you outside.",
            "Nice! It sounds like you really enjoy it.",
        ),
        (
            (
                "How can I take better photos?",
                (
                    "Pay attention to the light, and try shooting early in the morning or late in the afternoon. Also "
                    "try different angles.",
                    "Use the rule of thirds, get closer to your subject and take lots of shots. Practice makes a big "
                    "difference.",
                ),
            ),
            (
                "Should I buy a more expensive camera?",
                (
                    "Not yet. Learn everything your current camera can do first, then upgrade when it truly holds you "
                    "back.",
                    "Only if your camera is stopping you. Good light and composition matter far more than gear.",
                ),
            ),
        ),
        ("Happy shooting!", "Enjoy your next photo walk!"),
    ),
    _Topic(
        "languages",
        (
            _slot(
                "language",
                "Spanish",
                "Japanese",
                "German",
                "Italian",
                "Korean",
                "Portuguese",
                "French",
                "Mandarin",
                "Arabic",
            ),
        ),
        (
            "I've started learning {language} in the evenings.",
            "I'm trying to practice my {language} every day.",
            "I want to learn {language} before my vacation next year.",
        ),
        (
            "That's wonderful! Learning a new language opens so many doors.",
            "Great idea. {language} is a beautiful language to learn.",
            "Good for you! A little practice every day really adds up.",
        ),
        (
            (
                "How are you learning it?",
                ("With an app on my phone.", "I take a class once a week.", "Mostly with videos and podcasts."),
            ),
            (
                "What made you choose {language}?",
                ("I have family who speak it.", "I love the culture and the food.", "I need it for work."),
            ),
        ),
        (
            "That sounds great. Keep going and it will start to feel natural.",
            "Nice! Having a clear reason and a routine makes learning much easier.",
            "That's great. Every new word is a small win.",
        ),
        (
            (
                "How can I practice speaking without a partner?",
                (
                    "Talk to yourself! Describe what you're doing out loud, or record yourself reading and compare it "
                    "with native speakers.",
                    "Try shadowing: play a short audio clip and repeat it right after the speaker. It helps a lot "
                    "with "
                    "pronunciation.",
                ),
            ),
            (
                "How long does it take to become fluent?",
                (
                    "It depends on the language and how much you practice, but steady daily study shows real progress "
                    "within a year.",
                    "It varies a lot, but most people can hold simple conversations after a few months of regular "
                    "practice.",
                ),
            ),
        ),
        ("Good luck with your {language}!", "Keep practicing, you're doing great!"),
    ),
)
#: The chit-chat topics, in order.
TOPICS = tuple(t.name for t in _TOPICS)

_HELLOS = ("Hi", "Hello", "Hey", "Hi there", "Hello there", "Good morning", "Good afternoon", "Good evening")
# (user greeting, assistant replies that ask how the user is, assistant replies that invite a topic)
_GREETINGS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "{hello}, how are you today?",
        ("{hello}! I'm doing well, thanks for asking. How are you?", "I'm great, thank you! How about you?"),
        (
            "{hello}! I'm doing well, thanks. What's on your mind today?",
            "Very well, thank you for asking! What would you like to chat about?",
        ),
    ),
    (
        "{hello}! How's your day going so far?",
        ("It's going well, thank you! How about yours?", "{hello}! Pretty good, thanks. How is yours going?"),
        (
            "Pretty good, thanks for asking! What would you like to talk about?",
            "It's going nicely, thank you. What's on your mind?",
        ),
    ),
    (
        "{hello}! Do you have a minute to chat?",
        ("Of course! I always have time for a chat. How are you doing?",),
        ("{hello}! Sure, I'm happy to chat. What's on your mind?", "Of course! What would you like to talk about?"),
    ),
    (
        "{hello}! I hope you're having a good day.",
        (
            "{hello}, and thank you! That's kind of you. How has your day been?",
            "Thank you, I am! I hope yours is going well too. How are you?",
        ),
        (
            "Thank you, that's kind of you! What can I chat with you about today?",
            "{hello}! Thanks, I hope yours is lovely too. What's on your mind?",
        ),
    ),
)
_FEELINGS = (
    "Pretty good, thanks!",
    "Not bad at all, thank you.",
    "Good, thanks for asking.",
    "Really good, thanks.",
    "Pretty well, if a little tired.",
)
_TRANSITIONS = ("By the way, ", "On a different note, ", "Oh, and ", "Also, ", "Changing the subject a bit, ")
_USER_BYES = (
    "Anyway, I should get going. Thanks for the chat, bye!",
    "Thanks for chatting, I have to go now. Bye!",
    "That's all from me for now. Thanks, and bye!",
    "I need to head off, but this was nice. Thank you, bye!",
    "Well, it's getting late. Thanks for the lovely chat, good night!",
    "Thanks, this was fun! I'll talk to you later, bye.",
)
_ASSISTANT_BYES = (
    "You're welcome, it was a pleasure chatting with you. {wish} Goodbye!",
    "Thanks for the lovely chat! {wish} Take care, bye!",
    "Anytime! {wish} Bye for now.",
    "It was great talking with you. {wish} See you next time, bye!",
)
_ANYTHING_ELSE = ("Is there anything else you'd like to chat about?", "What else is on your mind today?")
# body length (turns besides greeting and goodbye) -> possible segment lengths, one per topic
_SEGMENTS = {
    2: ((2,),),
    4: ((4,), (4,), (2, 2)),
    6: ((6,), (4, 2), (2, 4)),
    8: ((4, 4), (6, 2), (2, 6)),
    10: ((6, 4), (4, 6)),
}


def _topic_slots(d: _Draw, topic: _Topic) -> dict[str, str]:
    slots: dict[str, str] = {}
    for keys, rows in topic.slots:
        slots.update(zip(keys, rows[d.index(len(rows))], strict=True))
    return slots


def _segment(d: _Draw, topic: _Topic, slots: dict[str, str], length: int, may_ask_last: bool) -> list[str]:
    """``length`` turns on one topic, user first: an opener and reply, then follow-up exchanges."""
    turns = [d.pick(topic.open).format_map(slots)]
    pending = d.pick(topic.reply).format_map(slots)  # the assistant turn being built
    moves = (
        () if length == 2 else (d.pick(("ask", "more")),) if length == 4 else d.pick((("ask", "more"), ("more", "ask")))
    )
    for move in moves:
        if move == "ask":
            question, answers = d.pick(topic.ask)
            turns.append(f"{pending} {question.format_map(slots)}")
            turns.append(d.pick(answers).format_map(slots))
            pending = d.pick(topic.react).format_map(slots)
        else:
            question, answers = d.pick(topic.more)
            turns.append(pending)
            turns.append(question.format_map(slots))
            pending = d.pick(answers).format_map(slots)
    if may_ask_last and d.chance(0.3):  # a follow-up question nobody answers: the conversation ends here
        pending = _fit(pending, d.pick(topic.ask)[0].format_map(slots))
    turns.append(pending)
    return turns


def _chitchat(d: _Draw) -> Conversation:
    target = d.pick((4, 6, 6, 8, 8, 10))
    greet, bye = d.chance(0.55), d.chance(0.65)
    body = target - 2 * greet - 2 * bye
    if body < 2:
        greet, body = False, body + 2
    layout = d.pick(_SEGMENTS[body])
    first = d.index(len(_TOPICS))
    topics = [_TOPICS[first]]
    if len(layout) == 2:
        topics.append(_TOPICS[(first + 1 + d.index(len(_TOPICS) - 1)) % len(_TOPICS)])

    hello = d.pick(_HELLOS)
    turns: list[str] = []
    asked_how = False
    if greet:
        user, how, invite = d.pick(_GREETINGS)
        asked_how = d.chance(0.5)
        turns += [user.format(hello=hello), d.pick(how if asked_how else invite).format(hello=hello)]
    slots: dict[str, str] = {}
    for i, (topic, length) in enumerate(zip(topics, layout, strict=True)):
        slots = _topic_slots(d, topic)
        segment = _segment(d, topic, slots, length, may_ask_last=not bye and i == len(layout) - 1)
        if i > 0:
            segment[0] = d.pick(_TRANSITIONS) + _lower_first(segment[0])
        elif asked_how:
            segment[0] = f"{d.pick(_FEELINGS)} {segment[0]}"
        elif not greet and d.chance(0.4):
            segment[0] = f"{hello}! {segment[0]}"
        turns += segment
    if bye:
        wish = d.pick(topics[-1].wish).format_map(slots)
        turns += [d.pick(_USER_BYES), d.pick(_ASSISTANT_BYES).format(wish=wish)]
    elif not turns[-1].endswith("?") and d.chance(0.25):
        turns[-1] = _fit(turns[-1], d.pick(_ANYTHING_ELSE))
    return Conversation("chitchat", tuple(turns))


# ---------------------------------------------------------------------------------------------------------
# Persona
# ---------------------------------------------------------------------------------------------------------

NAMES = (
    "Maya",
    "Liam",
    "Sofia",
    "Noah",
    "Aisha",
    "Lucas",
    "Emma",
    "Omar",
    "Chloe",
    "Mateo",
    "Priya",
    "Ethan",
    "Hannah",
    "Kenji",
    "Zara",
    "Daniel",
    "Amara",
    "Leo",
    "Grace",
    "Ravi",
    "Isla",
    "Samuel",
    "Nadia",
    "Felix",
    "Elena",
    "Jonas",
    "Mei",
    "Arjun",
    "Clara",
    "Diego",
    "Layla",
    "Tom",
    "Fatima",
    "Oliver",
    "Yuki",
    "Marcus",
    "Ingrid",
    "Tariq",
    "Rosa",
    "Ben",
    "Lina",
    "Hugo",
    "Naomi",
    "Kofi",
    "Julia",
    "Sean",
    "Ada",
    "Theo",
)


class _Interest(NamedTuple):
    interest: str  # fits "I love ...", "since you enjoy ...", "get better at ..."
    activity: str  # fits "you could ... this weekend"
    gift: str
    group: str  # fits "joining ..."
    fun: str  # fits "Have fun ...!"


_INTERESTS = (
    _Interest(
        "gardening",
        "plant some fresh herbs or visit a botanical garden",
        "a good pair of pruning shears",
        "a community garden",
        "in the garden",
    ),
    _Interest(
        "painting",
        "take your paints to a local park and paint outdoors",
        "a set of quality watercolor paints",
        "an art class",
        "painting",
    ),
    _Interest(
        "hiking",
        "take a trail you haven't walked before",
        "a lightweight daypack",
        "a local hiking group",
        "on the trails",
    ),
    _Interest(
        "cooking",
        "try a recipe from a cuisine you've never cooked",
        "a good chef's knife",
        "a cooking class",
        "in the kitchen",
    ),
    _Interest("baking", "bake a loaf of bread from scratch", "a digital kitchen scale", "a baking workshop", "baking"),
    _Interest(
        "photography", "go on a photo walk at sunrise", "a small travel tripod", "a photography club", "taking photos"
    ),
    _Interest(
        "reading",
        "spend an afternoon in a quiet cafe with a new novel",
        "a cozy reading lamp",
        "a book club",
        "with your next book",
    ),
    _Interest(
        "chess",
        "play a few games at a local chess cafe",
        "a classic wooden chess set",
        "a chess club",
        "at the chessboard",
    ),
    _Interest(
        "cycling", "ride a scenic route out of town", "a bright new bike light", "a cycling club", "on your rides"
    ),
    _Interest(
        "running",
        "try a new running route or a weekend park run",
        "a good running watch",
        "a running club",
        "on your runs",
    ),
    _Interest("yoga", "try a sunrise yoga session in the park", "a comfortable yoga mat", "a yoga class", "on the mat"),
    _Interest(
        "knitting",
        "start a simple scarf in a bright new yarn",
        "a set of bamboo knitting needles",
        "a knitting circle",
        "knitting",
    ),
    _Interest(
        "birdwatching",
        "visit a nature reserve early in the morning",
        "a pair of binoculars",
        "a birdwatching group",
        "birdwatching",
    ),
    _Interest(
        "playing the guitar",
        "learn a new song from start to finish",
        "a new set of guitar strings",
        "a weekly jam session",
        "playing the guitar",
    ),
    _Interest(
        "playing the piano",
        "learn a short classical piece",
        "a book of piano sheet music",
        "an adult piano class",
        "at the piano",
    ),
    _Interest(
        "video games", "try an indie game with a great story", "a comfortable controller", "a gaming meetup", "gaming"
    ),
    _Interest(
        "board games",
        "host a board game night with friends",
        "a new strategy board game",
        "a board game cafe",
        "at your next game night",
    ),
    _Interest(
        "swimming",
        "swim at an outdoor pool or a calm lake",
        "a good pair of swimming goggles",
        "a swimming club",
        "in the water",
    ),
    _Interest(
        "rock climbing", "visit a climbing gym and try a new route", "a chalk bag", "a climbing gym", "on the wall"
    ),
    _Interest("fishing", "spend a quiet morning fishing by a lake", "a new tackle box", "a fishing club", "fishing"),
    _Interest(
        "camping",
        "spend a night under the stars at a nearby campsite",
        "a compact camping stove",
        "an outdoor club",
        "camping",
    ),
    _Interest(
        "astronomy",
        "find a dark spot away from the city lights to stargaze",
        "a star map",
        "an astronomy club",
        "stargazing",
    ),
    _Interest(
        "pottery", "book a session at a pottery studio", "a set of clay tools", "a pottery studio", "at the wheel"
    ),
    _Interest("dancing", "try a salsa or swing class", "a pair of comfortable dance shoes", "a dance class", "dancing"),
    _Interest(
        "writing poetry",
        "write a short poem somewhere new, like a park bench",
        "a beautiful notebook",
        "an open mic night",
        "writing",
    ),
    _Interest(
        "learning languages",
        "watch a film in the language you're learning",
        "a good pocket dictionary",
        "a language exchange group",
        "with your language practice",
    ),
    _Interest(
        "woodworking",
        "build a small shelf or a birdhouse",
        "a quality hand plane",
        "a woodworking workshop",
        "in the workshop",
    ),
    _Interest("surfing", "catch some early morning waves", "a warm wetsuit", "a surf school", "surfing"),
    _Interest(
        "tennis", "book a court and play a few sets", "a can of new tennis balls", "a tennis club", "on the court"
    ),
    _Interest("sewing", "make a simple tote bag", "a pair of sharp fabric scissors", "a sewing class", "sewing"),
    _Interest("singing", "try a karaoke night with friends", "a good microphone", "a community choir", "singing"),
    _Interest("drawing", "sketch people in a busy cafe", "a good sketchbook", "a drawing class", "drawing"),
    _Interest(
        "traveling",
        "plan a day trip to a nearby town",
        "a sturdy travel backpack",
        "a travel meetup",
        "on your travels",
    ),
    _Interest("skateboarding", "try a new skate park across town", "a good helmet", "a skate crew", "skateboarding"),
)
INTERESTS = tuple(i.interest for i in _INTERESTS)
CITIES = (
    "Leeds",
    "Toronto",
    "Melbourne",
    "Dublin",
    "Austin",
    "Lisbon",
    "Denver",
    "Glasgow",
    "Auckland",
    "Seattle",
    "Cape Town",
    "Edinburgh",
    "Chicago",
    "Vancouver",
    "Bristol",
    "Portland",
    "Nairobi",
    "Oslo",
)
# (job, with its article)
_JOBS = (
    ("nurse", "a nurse"),
    ("teacher", "a teacher"),
    ("software developer", "a software developer"),
    ("engineer", "an engineer"),
    ("chef", "a chef"),
    ("librarian", "a librarian"),
    ("accountant", "an accountant"),
    ("graphic designer", "a graphic designer"),
    ("firefighter", "a firefighter"),
    ("doctor", "a doctor"),
    ("shop manager", "a shop manager"),
    ("electrician", "an electrician"),
    ("bus driver", "a bus driver"),
    ("lawyer", "a lawyer"),
    ("vet", "a vet"),
    ("architect", "an architect"),
)
JOBS = tuple(j for j, _ in _JOBS)
PETS = ("dog", "cat", "rabbit", "parrot", "hamster", "tortoise")
_PET_NAMES = ("Biscuit", "Luna", "Max", "Pepper", "Milo", "Coco", "Oscar", "Daisy", "Ziggy", "Bella", "Rusty", "Mochi")
_FACTS = ("city", "job", "pet")

# Facts, by tone: the user's statement, the assistant's acknowledgement.
_STATE = {
    "casual": {
        "city": ("I live in {city}.", "I'm based in {city}."),
        "job": ("I'm {a_job}.", "I work as {a_job}."),
        "pet": ("I have a {pet} called {pet_name}.", "My {pet} {pet_name} keeps me company."),
    },
    "formal": {
        "city": ("I live in {city}.", "I am based in {city}."),
        "job": ("I work as {a_job}.", "By profession, I am {a_job}."),
        "pet": ("I have a {pet} named {pet_name}.", "I share my home with a {pet} named {pet_name}."),
    },
}
_ACK = {
    "casual": {
        "city": ("{city} is a great place to live!", "Oh, I've heard {city} is lovely."),
        "job": ("Being {a_job} must keep you busy.", "Working as {a_job} sounds rewarding."),
        "pet": ("{pet_name} sounds adorable!", "A {pet} called {pet_name}, how fun!"),
    },
    "formal": {
        "city": ("{city} is a lovely city.", "{city} is a wonderful place to live."),
        "job": ("Working as {a_job} must be rewarding.", "Being {a_job} must be demanding work."),
        "pet": ("{pet_name} sounds like wonderful company.", "How lovely that you have {pet_name}."),
    },
}
_INTROS = {
    "casual": (
        "Hey! I'm {name}, and I'm really into {interest}.",
        "Hi there, I'm {name}. I absolutely love {interest}.",
        "Hi! My name's {name} and I've been into {interest} for years.",
        "Hey, {name} here. I'm a big fan of {interest}.",
    ),
    "formal": (
        "Good afternoon. My name is {name}, and I have a keen interest in {interest}.",
        "Hello, I am {name}. In my spare time I greatly enjoy {interest}.",
        "Good morning. My name is {name}, and I am very fond of {interest}.",
    ),
}
_TONE_STATE = {
    "casual": ("Let's keep things casual, by the way.", "Feel free to keep it casual with me."),
    "formal": ("I would appreciate a formal tone, please.", "I prefer a fairly formal conversation."),
}
_TONE_ACK = {
    "casual": ("Casual works for me!", "Sure, we can keep it relaxed."),
    "formal": ("Certainly, I will keep things formal.", "Of course, I will keep a formal tone."),
}
_WELCOME = {
    "casual": (
        "Nice to meet you, {name}! It's great that you're into {interest}.",
        "Hey {name}, great to meet you! I love that you enjoy {interest}.",
        "Hi {name}, welcome! I love that you're into {interest}.",
    ),
    "formal": (
        "It is a pleasure to meet you, {name}. An interest in {interest} is a wonderful thing to have.",
        "Welcome, {name}. It is lovely to hear that you enjoy {interest}.",
        "Good to meet you, {name}. I admire your interest in {interest}.",
    ),
}
_OFFER = {
    "casual": ("What can I help you with today?", "What's on your mind?"),
    "formal": ("How may I help you today?", "How can I assist you today?"),
}
_REACTIONS = {
    "casual": ("That sounds great!", "Love that idea.", "Ooh, good idea.", "Nice, I'll try that."),
    "formal": (
        "That is a helpful suggestion, thank you.",
        "That sounds very sensible.",
        "Thank you, I will consider that.",
    ),
}


class _Request(NamedTuple):
    ask: dict[str, tuple[str, ...]]  # tone -> the user's request
    answer: dict[str, tuple[str, ...]]  # tone -> the assistant's answer, using name and interest
    extra: dict[str, dict[str, str]]  # tone -> fact -> an optional clause using that fact


_REQUESTS = (
    _Request(
        {
            "casual": (
                "Can you suggest something fun for this weekend?",
                "Any ideas for what I could do this weekend?",
            ),
            "formal": ("Could you recommend something to do this weekend?", "What would you suggest for this weekend?"),
        },
        {
            "casual": (
                "Since you enjoy {interest}, {name}, you could {activity} this weekend.",
                "Here's an idea, {name}: why not {activity}? It's perfect for someone who loves {interest}.",
            ),
            "formal": (
                "Given your interest in {interest}, {name}, I would suggest that you {activity} this weekend.",
                "As you enjoy {interest}, {name}, you might {activity} this weekend.",
            ),
        },
        {
            "casual": {
                "city": "You could also look for {group} in {city}.",
                "pet": "If {pet_name} can come along, even better!",
                "job": "It would make a nice change from your work as {a_job}.",
            },
            "formal": {
                "city": "You might also look for {group} in {city}.",
                "pet": "Perhaps {pet_name} could join you as well.",
                "job": "It would be a pleasant change from your work as {a_job}.",
            },
        },
    ),
    _Request(
        {
            "casual": (
                "My birthday is coming up. What should I ask for?",
                "I'm making a wish list for my birthday. Any ideas?",
            ),
            "formal": (
                "My birthday is approaching. What might be a good gift to ask for?",
                "I am putting together a birthday wish list. What would you suggest?",
            ),
        },
        {
            "casual": (
                "How about {gift}? Since you love {interest}, {name}, you'd get loads of use out of it.",
                "Since you're into {interest}, {name}, {gift} would be a great pick.",
            ),
            "formal": (
                "As someone who enjoys {interest}, {name}, you might appreciate {gift}.",
                "Since you enjoy {interest}, {name}, {gift} would be a thoughtful choice.",
            ),
        },
        {
            "casual": {
                "pet": "And maybe a new toy for {pet_name}!",
                "job": "It's a nice reward for all that work as {a_job}.",
                "city": "Plenty of shops in {city} should have one.",
            },
            "formal": {
                "pet": "Perhaps a small treat for {pet_name} as well.",
                "job": "It would be a fine reward for your work as {a_job}.",
                "city": "Several shops in {city} should stock one.",
            },
        },
    ),
    _Request(
        {
            "casual": (
                "I've had a really long week. How should I relax tonight?",
                "I'm exhausted. Any tips for unwinding this evening?",
            ),
            "formal": (
                "It has been a demanding week. How might I relax this evening?",
                "I am rather tired this week. How would you suggest I unwind tonight?",
            ),
        },
        {
            "casual": (
                "You've earned a break, {name}. Why not make some time for {interest} tonight? Doing "
                "something you love is a great way to unwind.",
                "Since you enjoy {interest}, {name}, a little time for it tonight could help you switch off.",
            ),
            "formal": (
                "You deserve some rest, {name}. Setting aside an hour for {interest} this evening could "
                "help "
                "you unwind.",
                "Given how much you enjoy {interest}, {name}, a quiet hour devoted to it may be the best remedy.",
            ),
        },
        {
            "casual": {
                "job": "Long weeks as {a_job} can be draining, so go easy on yourself.",
                "pet": "A cozy evening with {pet_name} sounds nice too.",
                "city": "A quiet walk around {city} could help as well.",
            },
            "formal": {
                "job": "Long weeks as {a_job} can be draining, so please be kind to yourself.",
                "pet": "An evening in the company of {pet_name} may also help.",
                "city": "A short, quiet walk around {city} could also help.",
            },
        },
    ),
    _Request(
        {
            "casual": ("I'd love to meet some new people. Any ideas?", "How can I make new friends around here?"),
            "formal": (
                "I would like to meet new people. Do you have any suggestions?",
                "How might I go about making new friends?",
            ),
        },
        {
            "casual": (
                "Since you're into {interest}, {name}, joining {group} is a great way to meet people who share it.",
                "Try {group}, {name}! People who love {interest} are usually very welcoming.",
            ),
            "formal": (
                "Given your interest in {interest}, {name}, joining {group} would be an excellent way to "
                "meet "
                "like-minded people.",
                "I would suggest {group}, {name}. People who share your love of {interest} tend to be very welcoming.",
            ),
        },
        {
            "casual": {
                "city": "There should be a few options in {city}.",
                "pet": "And {pet_name} could be a great conversation starter!",
                "job": "People you work with as {a_job} might enjoy {interest} too.",
            },
            "formal": {
                "city": "{city} is likely to offer several options.",
                "pet": "{pet_name} may also prove a fine conversation starter.",
                "job": "Colleagues from your work as {a_job} may share your interest as well.",
            },
        },
    ),
    _Request(
        {
            "casual": ("How can I get better at {interest}?", "Any tips for getting better at {interest}?"),
            "formal": (
                "How might I improve at {interest}?",
                "What would you advise to improve my skill at {interest}?",
            ),
        },
        {
            "casual": (
                "Practice a little every day, {name}, and set small goals. Joining {group} is also a "
                "great "
                "way to get better at {interest}.",
                "Watch people who are great at {interest}, {name}, and copy one thing at a time. Short, "
                "regular sessions beat rare long ones.",
            ),
            "formal": (
                "I would recommend short, regular practice with clear goals, {name}. Joining {group} "
                "could also "
                "speed up your progress in {interest}.",
                "Short, regular sessions are more effective than occasional long ones, {name}. Learning "
                "from "
                "people who excel at {interest} also helps.",
            ),
        },
        {
            "casual": {
                "city": "Check what's on in {city} too.",
                "job": "Even twenty minutes after work as {a_job} will add up.",
                "pet": "Just keep {pet_name} from distracting you!",
            },
            "formal": {
                "city": "It may be worth checking what {city} has to offer.",
                "job": "Even twenty minutes after your work as {a_job} will add up.",
                "pet": "A quiet space, away from {pet_name}, may help you focus.",
            },
        },
    ),
)
_PERSONA_USER_BYES = {
    "casual": (
        "Thanks so much, this was really helpful. Bye!",
        "Awesome, thanks for the ideas! Bye for now.",
        "Cool, thanks a lot. Talk soon, bye!",
    ),
    "formal": (
        "Thank you very much for your help. Goodbye.",
        "I appreciate your suggestions. Goodbye for now.",
        "Thank you, that is all I needed. Goodbye.",
    ),
}
# (the assistant's farewell, its last words): a line for the pet may go between them
_PERSONA_BYES = {
    "casual": (
        ("You're welcome, {name}! Have fun {fun}.", "Bye for now!"),
        ("Anytime, {name}! Have fun {fun}.", "Bye!"),
        ("Happy to help, {name}.", "Take care, bye!"),
    ),
    "formal": (
        ("You are most welcome, {name}. I wish you every success with {interest}.", "Goodbye."),
        ("It was a pleasure assisting you, {name}.", "Goodbye, and have a pleasant day."),
        ("My pleasure, {name}. I hope my suggestions prove useful.", "Goodbye."),
    ),
}
_PET_BYES = {"casual": "Say hi to {pet_name} for me!", "formal": "Please give {pet_name} my regards."}


def _persona(d: _Draw) -> Conversation:
    tone = d.pick(TONES)
    hobby = d.pick(_INTERESTS)
    values = {
        "name": d.pick(NAMES),
        "interest": hobby.interest,
        "activity": hobby.activity,
        "gift": hobby.gift,
        "group": hobby.group,
        "fun": hobby.fun,
    }
    persona = {"name": values["name"], "interest": hobby.interest, "tone": tone}
    facts = [f for f in _FACTS if d.chance(0.5)]
    if len(facts) > 1 and d.chance(0.5):
        facts.reverse()
    if "city" in facts:
        values["city"] = persona["city"] = d.pick(CITIES)
    if "job" in facts:
        persona["job"], values["a_job"] = d.pick(_JOBS)
    if "pet" in facts:
        values["pet"] = persona["pet"] = d.pick(PETS)
        values["pet_name"] = persona["pet_name"] = d.pick(_PET_NAMES)

    n_requests = d.pick((1, 2, 2, 3))  # with the introduction and a goodbye, at most ten turns
    bye = d.chance(0.7)
    first = d.index(len(_REQUESTS))
    step = 1 + d.index(len(_REQUESTS) - 1)  # requests without repetition
    requests = [_REQUESTS[(first + k * step) % len(_REQUESTS)] for k in range(n_requests)]
    # Who states what: the first fact in the introduction, the next ones one per request, any left over in
    # the introduction too (a reply then acknowledges at most one new fact, which keeps it short).
    stated: list[list[str]] = [[] for _ in range(n_requests + 1)]
    for k, fact in enumerate(facts):
        stated[k if k <= n_requests else 0].append(fact)

    def fmt(template: str) -> str:
        return template.format_map(values)

    intro = fmt(d.pick(_INTROS[tone]))
    for fact in stated[0]:
        intro = f"{intro} {fmt(d.pick(_STATE[tone][fact]))}"
    tone_stated = False
    if d.chance(0.3):
        with_tone = _fit(intro, d.pick(_TONE_STATE[tone]))
        tone_stated, intro = with_tone != intro, with_tone
    welcome = fmt(d.pick(_WELCOME[tone]))
    for fact in stated[0]:
        welcome = f"{welcome} {fmt(d.pick(_ACK[tone][fact]))}"
    if tone_stated:
        welcome = _fit(welcome, d.pick(_TONE_ACK[tone]))
    turns = [intro, _fit(welcome, d.pick(_OFFER[tone]))]

    known = list(stated[0])
    for k, request in enumerate(requests, start=1):
        ask = fmt(d.pick(request.ask[tone]))
        reply = fmt(d.pick(request.answer[tone]))
        for fact in reversed(stated[k]):
            ask = f"{fmt(d.pick(_STATE[tone][fact]))} {ask}"
            reply = f"{fmt(d.pick(_ACK[tone][fact]))} {reply}"
        if k > 1 and d.chance(0.6):
            ask = f"{d.pick(_REACTIONS[tone])} {ask}"
        known += stated[k]
        if known and d.chance(0.6):
            reply = _fit(reply, fmt(request.extra[tone][d.pick(known)]))
        turns += [ask, reply]
    if bye:
        farewell, last = (fmt(t) for t in d.pick(_PERSONA_BYES[tone]))
        if "pet" in known and d.chance(0.5):
            farewell = f"{farewell} {fmt(_PET_BYES[tone])}"
        farewell = f"{farewell} {last}"
        turns += [d.pick(_PERSONA_USER_BYES[tone]), farewell]
    return Conversation("persona", tuple(turns), persona=persona)


# ---------------------------------------------------------------------------------------------------------
# Support
# ---------------------------------------------------------------------------------------------------------


class _Issue(NamedTuple):
    product: str  # problem["product"]
    the_product: str  # fits "the trouble with ..."
    issue: str  # problem["issue"]
    complaints: tuple[str, ...]  # the user's first description
    clarify: str  # the assistant's clarifying question
    answers: tuple[str, ...]  # the user's possible answers (the solution fits all of them)
    steps: str  # the solution, as the assistant writes it; contains every keyword
    solution: str  # problem["solution"]
    keywords: str  # problem["keywords"]
    service: bool  # True when the company acts (a refund, a replacement), False when the user fixes it
    partial: str  # the user's report that the steps were not enough ("" for the generic ones)
    second: str  # the assistant's second step ("" when there is none)


_ISSUES = (
    _Issue(
        "router",
        "your router",
        "the wifi keeps dropping",
        (
            "My router keeps dropping the wifi connection every few minutes.",
            "The wifi from my router cuts out all the time.",
        ),
        "Does the connection drop on every device, or just on one?",
        ("It drops on every device in the house.", "All of them, my phone and my laptop both lose it."),
        "Please restart the router: unplug it for thirty seconds, plug it back in and wait two minutes "
        "for the "
        "lights to settle.",
        "restart the router",
        "restart,router",
        False,
        "",
        "Then move the router to a higher, open spot, away from the microwave and thick walls, so the "
        "signal "
        "reaches every room.",
    ),
    _Issue(
        "router",
        "your internet",
        "the internet is very slow",
        ("My internet has been really slow since yesterday.", "Web pages take ages to load on my home wifi."),
        "Is it slow on a cable connection too, or only over wifi?",
        ("Only over wifi, the cable seems fine.", "I only use wifi, so I'm not sure."),
        "Please change the wifi channel: open the router settings page, go to wireless settings, pick a "
        "less "
        "busy channel and save.",
        "change the wifi channel",
        "channel,settings",
        False,
        "",
        "Then connect to the 5 GHz network if your router has one. It is faster and usually less crowded.",
    ),
    _Issue(
        "router",
        "your wifi",
        "the wifi password is forgotten",
        ("I forgot my wifi password and need to connect a new laptop.", "I can't remember my wifi password anymore."),
        "Do you still have a device that is connected to the network?",
        ("Yes, my phone is still connected.", "No, nothing is connected right now."),
        "The default password is printed on the sticker on the back or bottom of the router. Please try "
        "that "
        "password first.",
        "use the password on the router sticker",
        "sticker,password",
        False,
        "The sticker password doesn't work. I think I changed it once.",
        "No problem. Hold the small reset button on the router for ten seconds to restore factory "
        "settings, "
        "then the sticker password will work.",
    ),
    _Issue(
        "printer",
        "your printer",
        "the printer keeps jamming",
        ("My printer keeps jamming every time I print.", "Paper gets stuck in my printer on almost every page."),
        "Does it jam at the start of printing or halfway through the page?",
        ("Right at the start, it barely pulls the paper in.", "Halfway through, the page gets crumpled."),
        "Please turn the printer off, gently pull out any stuck paper, then fan the stack and reload the "
        "tray "
        "without overfilling it.",
        "remove the stuck paper and reload the tray",
        "paper,tray",
        False,
        "",
        "Then wipe the rollers with a lint-free cloth dampened with a little water. Dusty rollers often cause jams.",
    ),
    _Issue(
        "printer",
        "your printer",
        "the printer shows as offline",
        ("My printer says it's offline even though it's switched on.", "My laptop can't find the printer anymore."),
        "Did anything change recently, like a new router or a new wifi password?",
        ("Yes, we got a new router last week.", "Not that I know of."),
        "Please reconnect the printer to wifi: on its control panel, open the wireless setup wizard, "
        "choose your "
        "network and enter the password.",
        "run the wireless setup wizard",
        "wireless,wizard",
        False,
        "",
        "Then remove the printer from your computer's printer list and add it again, so it picks up the "
        "new "
        "connection.",
    ),
    _Issue(
        "printer",
        "your printer",
        "prints come out faded",
        ("My printer's pages come out faded and streaky.", "Everything I print has white lines through it."),
        "When did you last replace the ink cartridges?",
        ("Only a month ago.", "I honestly can't remember."),
        "Please run the print head cleaning tool. You'll find it under maintenance in the printer menu, "
        "then "
        "print a test page.",
        "run the print head cleaning tool",
        "cleaning,maintenance",
        False,
        "",
        "Then check the ink levels in the same menu and replace any cartridge that is running low.",
    ),
    _Issue(
        "phone",
        "your phone",
        "the battery drains fast",
        (
            "My phone battery drains really fast, even when I'm not using it.",
            "My phone goes from full to empty by lunchtime.",
        ),
        "Did this start after a recent update or a new app?",
        ("Yes, right after the last update.", "I installed a few new apps last week."),
        "Please open battery settings, see which app uses the most power and restrict its background "
        "activity, "
        "then turn on battery saver.",
        "restrict background activity in the battery settings",
        "battery,background",
        False,
        "",
        "Then restart the phone and update all your apps. A fresh start often stops apps that are stuck running.",
    ),
    _Issue(
        "phone",
        "your phone",
        "the phone won't charge",
        ("My phone won't charge when I plug it in.", "My phone only charges if I hold the cable at a certain angle."),
        "Have you tried a different cable and charger?",
        ("Yes, and it still doesn't charge.", "No, I only have this one cable."),
        "Please clean the charging port: switch the phone off, gently remove any lint with a wooden "
        "toothpick, "
        "then try charging again.",
        "clean the charging port",
        "port,lint",
        False,
        "",
        "Then try a different cable and wall charger. If it still fails, the port may need a repair at a "
        "service center.",
    ),
    _Issue(
        "phone",
        "your phone",
        "the storage is full",
        ("My phone keeps saying the storage is full.", "I can't take photos because my phone has no space left."),
        "Do you know roughly what is taking up the space, like photos or apps?",
        ("Probably photos and videos.", "I have no idea."),
        "Please open storage settings to see what uses the most space, back up your photos to the cloud, "
        "then "
        "delete the local copies and unused apps.",
        "back up the photos and free up storage",
        "storage,photos",
        False,
        "",
        "Then clear the cache of your messaging apps. Old videos in chats often take up several gigabytes.",
    ),
    _Issue(
        "laptop",
        "your laptop",
        "the laptop won't boot",
        ("My laptop won't turn on at all.", "My laptop shows a black screen when I press the power button."),
        "Do any lights come on when you press the power button?",
        ("No lights at all, it's completely dead.", "A small light comes on, but the screen stays black."),
        "Please unplug the charger, hold the power button for thirty seconds to drain leftover power, "
        "then plug "
        "the charger back in and turn it on.",
        "do a power reset with the charger unplugged",
        "power,charger",
        False,
        "",
        "Then plug it into a different outlet and let it charge for an hour before turning it on. The "
        "battery "
        "may be fully drained.",
    ),
    _Issue(
        "laptop",
        "your laptop",
        "the laptop overheats",
        (
            "My laptop gets really hot and the fan is very loud.",
            "My laptop overheats and shuts down when I watch videos.",
        ),
        "Do you usually use it on a bed or a sofa?",
        ("Yes, mostly on my bed.", "No, always on a desk."),
        "Please use it on a hard, flat surface and gently blow out the air vents with compressed air to "
        "clear "
        "any dust.",
        "clean the air vents",
        "vents,dust",
        False,
        "",
        "Then open the task manager, look for programs using a lot of processor power and close the ones "
        "you "
        "don't need.",
    ),
    _Issue(
        "laptop",
        "your laptop",
        "the laptop is slow",
        ("My laptop has become very slow lately.", "It takes my laptop forever to open anything."),
        "Does it feel slowest right after you start it up?",
        ("Yes, startup takes ages.", "It's slow all the time, to be honest."),
        "Please open the task manager, go to the startup tab and disable programs you don't need at "
        "startup, "
        "then restart the laptop.",
        "disable unneeded startup programs",
        "startup,disable",
        False,
        "",
        "Then free up some disk space and install any pending system updates. Both make a big difference.",
    ),
    _Issue(
        "app",
        "the app",
        "the app crashes on login",
        ("The app crashes every time I try to log in.", "Your app closes as soon as I press the login button."),
        "Are you on the latest version of the app?",
        ("I think so, but I'm not sure.", "I haven't updated it in a while."),
        "Please update the app from the app store, then clear its cache in your phone's app settings and "
        "try "
        "logging in again.",
        "update the app and clear its cache",
        "update,cache",
        False,
        "",
        "Then uninstall the app, restart your phone and install it again. Your data is safely stored in your account.",
    ),
    _Issue(
        "app",
        "the app",
        "notifications don't arrive",
        ("I'm not getting any notifications from the app.", "The app stopped sending me notifications."),
        "Are notifications turned on inside the app itself?",
        ("Yes, they're all switched on.", "I'm not sure where to check."),
        "Please open your phone's settings, find the app under notifications and allow them, then make "
        "sure do "
        "not disturb is off.",
        "allow notifications in the phone settings",
        "notifications,settings",
        False,
        "",
        "Then turn off battery optimization for the app, because it can stop notifications from arriving.",
    ),
    _Issue(
        "app",
        "the app",
        "data doesn't sync between devices",
        (
            "The app isn't syncing my data between my phone and tablet.",
            "Changes I make on my phone don't show up on my tablet.",
        ),
        "Are you signed in with the same account on both devices?",
        ("I think so, but I'm not sure.", "Yes, definitely the same account."),
        "Please sign out of the app on both devices, sign back in with the same account, then pull down "
        "on the "
        "main screen to sync.",
        "sign out and back in, then sync",
        "sign,sync",
        False,
        "",
        "Then check that background data is allowed for the app on both devices, so it can sync while closed.",
    ),
    _Issue(
        "account",
        "your account",
        "the password reset email is missing",
        (
            "I asked for a password reset, but the email never arrived.",
            "I requested a password reset link twice and got nothing.",
        ),
        "Which email address did you sign up with?",
        ("My work address, I think.", "My personal email, the one I always use."),
        "Please check your spam or junk folder first. If it isn't there, add our address to your contacts "
        "and "
        "request the reset email once more.",
        "check the spam folder and request the reset again",
        "spam,reset",
        False,
        "It's not in spam, and the new one hasn't arrived either.",
        "Then wait ten minutes between requests, since each new request cancels the older links. The "
        "email "
        "usually arrives within five minutes.",
    ),
    _Issue(
        "account",
        "your account",
        "the account is locked",
        ("My account is locked after too many login attempts.", "It says my account is locked and I can't sign in."),
        "Do you still have access to the phone number on your account?",
        ("Yes, I still do.", "Yes, it's the same number as always."),
        "Please wait thirty minutes for the lock to clear, then use the forgot password link and enter "
        "the code "
        "we send to your phone.",
        "wait for the lock to clear and verify with the code",
        "wait,code",
        False,
        "The code never came through to my phone.",
        "Then choose the option to get the code by voice call instead. It works even when text messages are delayed.",
    ),
    _Issue(
        "account",
        "your account",
        "the email address needs changing",
        ("I need to change the email address on my account.", "How do I update the email on my account?"),
        "Can you still sign in to your account?",
        ("Yes, I can sign in fine.", "Yes, with my old email."),
        "Please sign in, open account settings, choose email address, enter the new one and click the "
        "confirmation link we send to it.",
        "change it in account settings and confirm",
        "settings,confirmation",
        False,
        "I don't see the confirmation email.",
        "Then check the spam folder of the new address. If it's not there, resend it from the same settings page.",
    ),
    _Issue(
        "order",
        "your order",
        "the order arrived damaged",
        (
            "My order arrived today, but the box was crushed and the item is damaged.",
            "The vase I ordered arrived broken.",
        ),
        "Do you still have the packaging?",
        ("Yes, I kept the box.", "I threw it away already, sorry."),
        "That's fine either way. Please take a photo of the damaged item and upload it on your order "
        "page, and "
        "we'll send a free replacement right away.",
        "send a photo and get a free replacement",
        "photo,replacement",
        True,
        "",
        "",
    ),
    _Issue(
        "order",
        "your order",
        "the order hasn't arrived",
        (
            "My order still hasn't arrived, and it's a week late.",
            "I'm still waiting for a parcel that was due on Monday.",
        ),
        "Could you give me your order number?",
        ("Sure, it's order 48213.", "Of course, it's order 55190."),
        "The tracking shows it is held at your local depot. I've asked them to redeliver it tomorrow, and "
        "you "
        "can follow it with the tracking link.",
        "redeliver it from the local depot",
        "tracking,redeliver",
        True,
        "",
        "",
    ),
    _Issue(
        "order",
        "your order",
        "the wrong item arrived",
        ("I received the wrong item in my order.", "I ordered a blue jacket but got a red one."),
        "Is the item you received unused and still in its packaging?",
        ("Yes, I haven't opened it.", "Yes, it's completely untouched."),
        "Please print the free return label from your order page and drop the parcel at any post office. "
        "We'll "
        "send the correct item as soon as it's scanned.",
        "return it with the free label",
        "return,label",
        True,
        "",
        "",
    ),
    _Issue(
        "billing",
        "your payment",
        "the refund hasn't arrived",
        ("I returned an item two weeks ago but haven't received my refund.", "My refund still hasn't shown up."),
        "Did you pay by card or with a gift card?",
        ("I paid by credit card.", "With my debit card."),
        "I can see the return was processed, so I've reissued the refund to your card today. It will "
        "appear on "
        "your statement within three days.",
        "reissue the refund to the card",
        "refund,statement",
        True,
        "",
        "",
    ),
    _Issue(
        "billing",
        "your payment",
        "a purchase was charged twice",
        ("I was charged twice for the same order.", "My card shows two payments for one purchase."),
        "When did the two charges appear?",
        ("Both were on Tuesday.", "Yesterday, a few minutes apart."),
        "I can see it. One of those is a temporary hold that will drop off within three days. If it "
        "stays, "
        "we'll refund it in full.",
        "wait for the temporary hold to drop off",
        "hold,refund",
        True,
        "",
        "",
    ),
    _Issue(
        "billing",
        "your subscription",
        "the subscription can't be cancelled",
        (
            "I want to cancel my subscription, but I can't find the option.",
            "How do I cancel my subscription? I've looked everywhere.",
        ),
        "Did you subscribe on our website or through an app store?",
        ("I did it on your website.", "Through the app store on my phone."),
        "On our website, go to account, then subscription, and click cancel. For app store subscriptions, "
        "cancel "
        "it in your phone's subscription settings.",
        "cancel it under account and subscription",
        "cancel,subscription",
        False,
        "I clicked cancel, but it still says active.",
        "That's expected: it stays active until the end of the period you've paid for, and you won't be charged again.",
    ),
    _Issue(
        "tv",
        "your TV",
        "the TV has no sound",
        ("My smart TV has a picture but no sound.", "The sound on my TV suddenly stopped working."),
        "Do you have a soundbar or headphones connected to it?",
        ("Yes, a soundbar, but it's switched off.", "No, just the TV speakers."),
        "Please open the sound settings and set the audio output to TV speakers, then check that the TV isn't muted.",
        "set the audio output to the TV speakers",
        "audio,output",
        False,
        "",
        "Then reset the sound settings to default in the same menu and restart the TV.",
    ),
    _Issue(
        "tv",
        "your TV",
        "streaming apps won't load",
        ("The streaming apps on my TV won't load.", "My TV apps are stuck on a loading screen."),
        "Is your TV connected to the internet right now?",
        ("It says it's connected.", "I think so, the wifi icon is showing."),
        "Please unplug the TV for a full minute, plug it back in, and then check for a software update in "
        "the "
        "system settings.",
        "unplug the TV and install any update",
        "unplug,update",
        False,
        "",
        "Then delete the app that won't load and install it again from the TV's app store.",
    ),
    _Issue(
        "tv",
        "your remote",
        "the remote has stopped working",
        ("My TV remote has stopped working.", "The TV doesn't respond to the remote anymore."),
        "Have you changed the batteries recently?",
        ("Yes, and it still doesn't work.", "Not yet, I'm afraid."),
        "Please put in fresh batteries, then hold the remote close to the TV and press the pairing button "
        "for "
        "five seconds to pair it again.",
        "replace the batteries and pair the remote",
        "batteries,pairing",
        False,
        "",
        "Then check the remote's sensor with your phone camera: if you see a flash when pressing a "
        "button, the "
        "TV sensor may just need cleaning.",
    ),
    _Issue(
        "headphones",
        "your headphones",
        "the headphones won't connect",
        ("My wireless headphones won't connect to my phone.", "My headphones keep failing to pair with my laptop."),
        "Do the headphones show up in your Bluetooth list?",
        ("They show up, but it fails to connect.", "No, they don't show up at all."),
        "Please forget the headphones in your Bluetooth settings, then hold the power button for ten "
        "seconds "
        "until the light flashes and pair them again.",
        "forget the headphones and pair them again",
        "bluetooth,pair",
        False,
        "",
        "Then turn Bluetooth off on any other device nearby, since the headphones may be connecting to it first.",
    ),
    _Issue(
        "headphones",
        "your earbuds",
        "one earbud is silent",
        ("Only the left earbud is playing sound.", "One of my earbuds has gone completely silent."),
        "Does the silent earbud charge when you put it in the case?",
        ("The light comes on, so I think so.", "I'm not sure it does."),
        "Please clean the charging contacts with a dry cotton swab, put both earbuds back in the case and "
        "reset "
        "them by holding the case button for fifteen seconds.",
        "clean the contacts and reset the earbuds",
        "contacts,reset",
        False,
        "",
        "Then check the balance slider in your phone's accessibility settings and make sure it's in the middle.",
    ),
    _Issue(
        "headphones",
        "your headphones",
        "the battery runs out fast",
        ("My headphones only last an hour on a full charge.", "The battery in my headphones dies really quickly."),
        "How old are the headphones?",
        ("About two years now.", "Only a few months."),
        "Please update the headphone firmware through the companion app and turn off noise cancelling "
        "when you "
        "don't need it.",
        "update the firmware in the companion app",
        "firmware,app",
        False,
        "",
        "Then let them drain fully and charge them to full once, which helps the battery gauge read correctly.",
    ),
    _Issue(
        "washing machine",
        "your washing machine",
        "the washing machine won't drain",
        ("My washing machine won't drain the water.", "There's still water in my washing machine after the cycle."),
        "Is there an error code on the display?",
        ("Yes, it shows an error code.", "No code, it just stops."),
        "Please switch it off, lay down towels, open the small door at the bottom front, unscrew the "
        "drain "
        "filter slowly and clear out any lint or coins.",
        "clean the drain filter",
        "filter,drain",
        False,
        "",
        "Then check the drain hose behind the machine for kinks, and straighten it so the water can flow freely.",
    ),
    _Issue(
        "washing machine",
        "your washing machine",
        "the washing machine leaks",
        (
            "My washing machine is leaking water onto the floor.",
            "There's a puddle under my washing machine after every wash.",
        ),
        "Does it leak from the front door or from underneath?",
        ("From the door, I think.", "It seems to come from underneath."),
        "Please check the door seal for trapped socks or hair, wipe it clean and make sure the detergent "
        "drawer "
        "is pushed fully closed.",
        "clean the door seal and close the drawer",
        "seal,drawer",
        False,
        "",
        "Then use less detergent. Too much soap makes extra foam, which can push water out of the machine.",
    ),
    _Issue(
        "washing machine",
        "your washing machine",
        "the washing machine shakes",
        (
            "My washing machine shakes and bangs during the spin cycle.",
            "My washing machine is very loud and moves around when it spins.",
        ),
        "Is it a new machine, or was it moved recently?",
        ("We just moved it to a new spot.", "It's new, it was delivered last week."),
        "Please check that the transit bolts on the back have been removed, then adjust the feet so the "
        "machine "
        "stands level.",
        "remove the transit bolts and level the machine",
        "bolts,level",
        False,
        "",
        "Then avoid washing one heavy item alone, like a single towel or rug, because it unbalances the drum.",
    ),
    _Issue(
        "coffee machine",
        "your coffee machine",
        "the coffee is weak and lukewarm",
        ("My coffee machine is making weak, lukewarm coffee.", "My coffee comes out watery and barely warm."),
        "When did you last descale it?",
        ("Never, to be honest.", "It's been a few months."),
        "Please run a descaling cycle with descaler and water, then run two cycles of clean water to rinse it.",
        "run a descaling cycle",
        "descaling,rinse",
        False,
        "",
        "Then preheat your cup with hot water and use a finer grind or a stronger capsule.",
    ),
    _Issue(
        "coffee machine",
        "your coffee machine",
        "the coffee machine leaks",
        ("My coffee machine leaks water under the drip tray.", "There's always water around my coffee machine."),
        "Is the water tank clicked firmly into place?",
        ("I think so, yes.", "It feels a bit loose, actually."),
        "Please remove the water tank, check the seal at the bottom for dirt or cracks, rinse it and push "
        "the "
        "tank back until it clicks.",
        "clean the tank seal and reseat the tank",
        "tank,seal",
        False,
        "",
        "Then empty the drip tray more often. When it is full, water can spill over the edge.",
    ),
    _Issue(
        "coffee machine",
        "your coffee machine",
        "a warning light keeps blinking",
        ("The red light on my coffee machine keeps blinking.", "My coffee machine won't brew and a light is flashing."),
        "Is the water tank full at the moment?",
        ("Yes, I just filled it.", "Yes, it's completely full."),
        "Please empty the used capsule container and the drip tray, then dry them and slide them back in fully.",
        "empty the capsule container and the drip tray",
        "container,tray",
        False,
        "",
        "Then switch the machine off for a minute and back on, which clears the warning once the parts are in place.",
    ),
    _Issue(
        "smartwatch",
        "your smartwatch",
        "the smartwatch won't sync",
        ("My smartwatch stopped syncing with my phone.", "My watch hasn't synced my steps for two days."),
        "Is Bluetooth enabled on your phone?",
        ("Yes, it's switched on.", "I think so, yes."),
        "Please open the watch app on your phone, remove the watch, then restart both devices and pair "
        "the "
        "watch again from the app.",
        "remove the watch, restart and pair again",
        "pair,restart",
        False,
        "",
        "Then allow the watch app to run in the background in your phone settings, so it can sync on its own.",
    ),
    _Issue(
        "smartwatch",
        "your smartwatch",
        "the heart rate readings are wrong",
        (
            "My smartwatch shows a strange heart rate during workouts.",
            "The heart rate on my watch jumps around a lot when I run.",
        ),
        "How tightly do you wear the watch?",
        ("Quite loosely, I think.", "Pretty loose, it slides around a bit."),
        "Please wear it a finger's width above your wrist bone and tighten the strap so it stays snug during workouts.",
        "wear it higher and tighten the strap",
        "strap,wrist",
        False,
        "",
        "Then clean the sensor on the back with a soft, dry cloth, since sweat and dust can blur the readings.",
    ),
    _Issue(
        "smartwatch",
        "your smartwatch",
        "the screen won't wake",
        (
            "My smartwatch screen won't turn on when I raise my wrist.",
            "My watch screen stays dark until I press a button.",
        ),
        "Is theater mode or battery saver turned on?",
        ("I don't think so.", "Maybe, I'm not sure."),
        "Please open the display settings on the watch, turn on raise to wake and make sure theater mode is off.",
        "turn on raise to wake in the display settings",
        "display,wake",
        False,
        "",
        "Then restart the watch by holding the side button until the logo appears.",
    ),
    _Issue(
        "game console",
        "your console",
        "the controller won't connect",
        ("My game controller won't connect to the console.", "My controller keeps disconnecting from my console."),
        "Does the light on the controller flash when you press the home button?",
        ("Yes, it flashes and then goes off.", "No light at all."),
        "Please connect the controller to the console with a USB cable and press the home button. That "
        "pairs it "
        "again, then you can unplug the cable.",
        "pair the controller with a USB cable",
        "usb,cable",
        False,
        "",
        "Then charge the controller for an hour with the cable, since a flat battery can stop it pairing.",
    ),
    _Issue(
        "game console",
        "your console",
        "a game won't finish downloading",
        ("A game I bought won't finish downloading on my console.", "My download is stuck at ninety percent."),
        "How much free storage does your console have?",
        ("Not much, it's almost full.", "Plenty of space, I think."),
        "Please pause the download, restart the console, then resume it from the downloads list. Delete "
        "old "
        "games if storage is low.",
        "pause, restart and resume the download",
        "pause,resume",
        False,
        "",
        "Then connect the console to the router with a network cable, which makes large downloads much more reliable.",
    ),
    _Issue(
        "game console",
        "your console",
        "the console won't read discs",
        ("My console won't read game discs anymore.", "My console says it can't read the disc."),
        "Does it fail with every disc, or just one?",
        ("Every disc I try.", "Just one new game."),
        "Please wipe the disc with a soft cloth from the center outward to remove smudges, then restart "
        "the "
        "console and insert it again.",
        "wipe the disc and restart the console",
        "wipe,disc",
        False,
        "",
        "Then make sure the console stands flat or on its stand. A tilted drive can struggle to read discs.",
    ),
)


def _problem(issue: _Issue) -> dict[str, str]:
    return {"product": issue.product, "issue": issue.issue, "solution": issue.solution, "keywords": issue.keywords}


#: The products of the support conversations.
PRODUCTS = tuple(dict.fromkeys(i.product for i in _ISSUES))
#: Every support problem, by product, as ``Conversation.problem`` holds it.
PROBLEMS: dict[str, tuple[dict[str, str], ...]] = {
    p: tuple(_problem(i) for i in _ISSUES if i.product == p) for p in PRODUCTS
}

_OPENINGS = (
    "Hi, I need some help.",
    "Hello there.",
    "Hi, I hope you can help me.",
    "Good morning.",
    "Hello, I have a problem.",
    "Hi.",
)
_EMPATHY = (
    "I'm sorry to hear that.",
    "Sorry about the trouble with {the_product}.",
    "That sounds frustrating, I'm sorry.",
    "Thanks for reaching out, I can help with that.",
    "Oh no, let's get that sorted.",
    "I'm sorry about that, I'll help you fix it.",
)
_LEADS = (
    "Thanks, that helps.",
    "Okay, thank you.",
    "Got it, thanks.",
    "Thanks for the details.",
    "Thank you for checking.",
)
_CHECKS = ("Let me know if that helps.", "Please let me know how it goes.", "Does that work for you?")
_SERVICE_CHECKS = ("I hope that helps.", "Does that sound okay?", "Sorry again for the trouble.")
_PARTIALS = (
    "That helped a bit, but it still happens now and then.",
    "I tried that, but it's only a little better.",
    "It worked for a while, but now the problem is back.",
)
_SECOND_LEADS = ("Thanks for trying that.", "Okay, let's try one more thing.", "Thanks for letting me know.")
_WORKED = (
    "That worked, thank you so much!",
    "Great, it works now. Thanks!",
    "Perfect, that fixed it.",
    "Yes, that did the trick. Thank you!",
)
_SERVICE_OK = (
    "Perfect, thank you for sorting that out.",
    "Great, that's all I needed. Thanks!",
    "Thank you, that's very helpful.",
)
_FIXED_AFTER = (
    "That did it, it's working perfectly now. Thanks!",
    "Yes, that fixed it completely. Thank you!",
    "Great, that solved it for good.",
)
_CLOSES = (
    "Great, I'm glad it's sorted! Thanks for contacting us, and have a lovely day.",
    "Wonderful, happy to help. Have a great day!",
    "You're welcome! Enjoy the rest of your day.",
)
_ANYTHING_MORE = (
    "I'm glad that's sorted! Is there anything else I can help you with?",
    "Great to hear. Is there anything else I can do for you today?",
)
_NOTHING_MORE = (
    "No, that's all. Thanks for your help!",
    "Nope, that's everything. You've been great!",
    "No, that's it for today. Thank you!",
)
_FINAL = (
    "You're welcome! Have a great day.",
    "My pleasure. Take care, and have a good day!",
    "Happy to help. Goodbye, and have a lovely day!",
)


def _unthen(text: str) -> str:
    """A second step without its leading "Then", to follow a lead such as "Let's try one more thing."."""
    return text[5].upper() + text[6:] if text.startswith("Then ") else text


def _support(d: _Draw) -> Conversation:
    issue = d.pick(_ISSUES)
    complaint = d.pick(issue.complaints)
    if d.chance(0.5):
        complaint = f"{d.pick(_OPENINGS)} {complaint}"
    empathy = d.pick(_EMPATHY).format(the_product=issue.the_product)
    checks = _SERVICE_CHECKS if issue.service else _CHECKS
    solution = _fit(f"{d.pick(_LEADS)} {issue.steps}", d.pick(checks)) if d.chance(0.7) else issue.steps
    turns = [complaint, f"{empathy} {issue.clarify}", d.pick(issue.answers), solution]
    ending = d.pick(("none", "close", "close", "more", "more", "second", "second2"))
    if ending in ("second", "second2") and not issue.second:
        ending = "close"
    if ending in ("second", "second2"):
        partial = issue.partial or d.pick(_PARTIALS)
        second = issue.second if issue.partial else f"{d.pick(_SECOND_LEADS)} {_unthen(issue.second)}"
        turns += [partial, second, d.pick(_FIXED_AFTER)]
        turns += (
            [d.pick(_CLOSES)] if ending == "second" else [d.pick(_ANYTHING_MORE), d.pick(_NOTHING_MORE), d.pick(_FINAL)]
        )
    elif ending != "none":
        turns.append(d.pick(_SERVICE_OK if issue.service else _WORKED))
        turns += (
            [d.pick(_CLOSES)] if ending == "close" else [d.pick(_ANYTHING_MORE), d.pick(_NOTHING_MORE), d.pick(_FINAL)]
        )
    return Conversation("support", tuple(turns), problem=_problem(issue))


# ---------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------

_BUILDERS = {"chitchat": _chitchat, "persona": _persona, "support": _support}


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in _BUILDERS:
        allowed = ", ".join(map(repr, KINDS))
        raise ValueError(f"unknown conversation kind {kind!r}; use one of {allowed} or None")


def generate_conversation(rng: np.random.Generator, kind: str | None = None) -> Conversation:
    """Generate one conversation, using only ``rng`` for randomness.

    Args:
        rng: the random source; the same generator state always gives the same conversation.
        kind: ``"chitchat"``, ``"persona"`` or ``"support"``, or ``None`` to draw one of them uniformly.

    Returns:
        A :class:`Conversation` of 4 to 10 turns, user first and assistant last.

    Raises:
        ValueError: for an unknown kind.

    Example:
        >>> import numpy as np
        >>> c = generate_conversation(np.random.default_rng(7), "persona")
        >>> c.persona["name"] in c.turns[0] and c.persona["interest"] in c.turns[1]
        True
    """
    _check_kind(kind)
    d = _Draw(rng)
    if kind is None:
        kind = KINDS[d.index(len(KINDS))]
    return _BUILDERS[kind](d)


def conversation_for(index: int, split: str = "train", kind: str | None = None) -> Conversation:
    """Conversation number ``index`` of ``split``: the same arguments always give the same conversation.

    The generator is ``np.random.default_rng([index, SPLIT_CODES[split], KIND_CODES[kind]])``, so the
    ``"train"`` and ``"test"`` splits are independent random streams.

    Args:
        index: a non-negative integer.
        split: ``"train"`` or ``"test"``.
        kind: ``"chitchat"``, ``"persona"``, ``"support"``, or ``None`` for a kind drawn at random.

    Raises:
        ValueError: for a negative index, or an unknown split or kind.
        TypeError: for an index that is not an integer.

    Example:
        >>> conversation_for(3, "test") == conversation_for(3, "test")
        True
        >>> conversation_for(3, "train").turns != conversation_for(3, "test").turns
        True
    """
    if split not in SPLIT_CODES:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(map(repr, SPLIT_CODES))}")
    _check_kind(kind)
    if isinstance(index, bool):
        raise TypeError(f"index must be an integer, not {index!r}")
    index = operator.index(index)
    if index < 0:
        raise ValueError(f"index must be non-negative, got {index}")
    rng = np.random.default_rng([index, SPLIT_CODES[split], KIND_CODES[kind]])
    return generate_conversation(rng, kind)
