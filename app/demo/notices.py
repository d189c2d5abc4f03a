"""The demo's privacy notices: one per purpose, in English and Italian."""

NOTICES = {
    "offers": {
        "en": (
            "Offers newsletter",
            "We will send you our offers and news by the channels you choose. "
            "We use your first name to greet you. You can withdraw at any time with one click in "
            "any message or in your preferences; withdrawing is as easy as agreeing.",
        ),
        "it": (
            "Newsletter offerte",
            "Ti invieremo offerte e novità tramite i canali che scegli. "
            "Useremo il tuo nome per salutarti. Puoi revocare il consenso in qualsiasi momento con "
            "un clic in ogni messaggio o nelle tue preferenze.",
        ),
    },
    "birthday": {
        "en": (
            "Birthday offers",
            "Once a year, on your birthday in your own time zone, we send you "
            "a personal offer. We use your first name and your date of birth, only if you "
            "share them for this purpose.",
        ),
        "it": (
            "Offerte di compleanno",
            "Una volta all'anno, il giorno del tuo compleanno, ti inviamo "
            "un'offerta personale. Useremo nome e data di nascita solo se li condividi "
            "per questo scopo.",
        ),
    },
    "recommendations": {
        "en": (
            "Personalised recommendations",
            "We analyse the purchases and interests you share with "
            "us to recommend products that fit you. This is profiling (GDPR Art. 4(4)); it "
            "happens only with your consent, and you can object at any time.",
        ),
        "it": (
            "Raccomandazioni personalizzate",
            "Analizziamo gli acquisti e gli interessi che condividi "
            "per consigliarti prodotti adatti a te. Si tratta di profilazione (art. 4(4) GDPR); "
            "avviene solo con il tuo consenso e puoi opporti in qualsiasi momento.",
        ),
    },
    "surveys": {
        "en": (
            "Surveys",
            "Now and then we ask for your opinion about our products and service. "
            "Answering is always optional.",
        ),
        "it": (
            "Sondaggi",
            "Di tanto in tanto ti chiediamo un parere sui nostri prodotti e servizi. "
            "Rispondere è sempre facoltativo.",
        ),
    },
    "partners": {
        "en": (
            "Partner offers",
            "We send you offers from selected partners. We never give your data "
            "to partners: the message comes from us.",
        ),
        "it": (
            "Offerte dei partner",
            "Ti inviamo offerte di partner selezionati. Non cediamo mai i tuoi "
            "dati ai partner: il messaggio arriva da noi.",
        ),
    },
}
